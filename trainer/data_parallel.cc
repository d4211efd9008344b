#include "trainer/data_parallel.h"

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"

namespace nmoe::trainer {

absl::Status DataParallel::SumValues(std::vector<double>& values) {
  return ReduceValues(values, comm::ReduceOp::kSum, "summing step counts");
}

absl::Status DataParallel::MaxValues(std::vector<double>& values) {
  return ReduceValues(values, comm::ReduceOp::kMax, "agreeing on values");
}

absl::Status DataParallel::ReduceValues(std::vector<double>& values, comm::ReduceOp op, const char* what) {
  at::Tensor t = at::tensor(values, at::kDouble);
  if (absl::Status s = comm_->AllReduce(t, op); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("data parallel: ", what, ": ", s.message()));
  }
  const double* data = t.data_ptr<double>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = data[i];
  return absl::OkStatus();
}

absl::Status DataParallel::ReduceBucket(const std::vector<at::Tensor>& grads) {
  if (grads.empty()) return absl::OkStatus();
  std::vector<at::Tensor> flat;
  flat.reserve(grads.size());
  for (const at::Tensor& g : grads) flat.push_back(g.reshape({-1}).to(at::kFloat));
  at::Tensor buffer = at::cat(flat);
  if (absl::Status s = comm_->AllReduce(buffer, comm::ReduceOp::kSum); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("data parallel: summing gradients: ", s.message()));
  }
  int64_t offset = 0;
  for (const at::Tensor& g : grads) {
    const int64_t n = g.numel();
    at::Tensor target = g;
    target.copy_(buffer.narrow(0, offset, n).view(g.sizes()));
    offset += n;
  }
  return absl::OkStatus();
}

absl::Status DataParallel::SumGradients(const std::vector<at::Tensor>& parameters) {
  try {
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> bucket;
    int64_t bytes = 0;
    for (const at::Tensor& p : parameters) {
      if (!p.grad().defined()) {
        at::Tensor param = p;
        param.mutable_grad() = at::zeros_like(p);
      }
      bucket.push_back(p.grad());
      bytes += p.numel() * 4;
      if (bytes >= bucket_bytes_) {
        if (absl::Status s = ReduceBucket(bucket); !s.ok()) return s;
        bucket.clear();
        bytes = 0;
      }
    }
    return ReduceBucket(bucket);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("data parallel: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::trainer
