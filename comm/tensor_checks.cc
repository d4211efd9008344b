#include "comm/tensor_checks.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nmoe::comm {
namespace {

bool Supported(c10::ScalarType t) {
  return t == torch::kFloat32 || t == torch::kFloat64 || t == torch::kBFloat16 || t == torch::kInt32 ||
         t == torch::kInt64;
}

std::string DeviceString(const torch::Device& d) { return d.str(); }

}  // namespace

const char* ReduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMean: return "mean";
    case ReduceOp::kMax: return "max";
  }
  return "unknown";
}

std::string ShapeString(const torch::Tensor& t) { return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]"); }

absl::Status CheckTensor(const char* op, const char* name, const torch::Tensor& t, const torch::Device& device) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is an undefined tensor"));
  if (!Supported(t.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " has dtype ", c10::toString(t.scalar_type()),
                                                   "; supported: Float, Double, BFloat16, Int, Long"));
  }
  if (!t.is_contiguous()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " of shape ", ShapeString(t),
                                                   " is not contiguous (call .contiguous())"));
  }
  const bool device_ok = device.is_cpu() ? t.device().is_cpu()
                                         : (t.device().type() == device.type() && t.device().index() == device.index());
  if (!device_ok) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is on ", DeviceString(t.device()),
                                                   " but the communicator is on ", DeviceString(device)));
  }
  return absl::OkStatus();
}

absl::Status CheckLike(const char* op, const char* name, const torch::Tensor& t, const char* ref_name,
                       const torch::Tensor& reference, bool same_shape) {
  if (t.scalar_type() != reference.scalar_type()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " has dtype ", c10::toString(t.scalar_type()),
                                                   " but ", ref_name, " has ",
                                                   c10::toString(reference.scalar_type())));
  }
  if (same_shape && !t.sizes().equals(reference.sizes())) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " has shape ", ShapeString(t), " but ", ref_name,
                                                   " has ", ShapeString(reference)));
  }
  return absl::OkStatus();
}

absl::Status CheckReduceOp(const torch::Tensor& t, ReduceOp op) {
  if (op == ReduceOp::kMean && !t.is_floating_point()) {
    return absl::InvalidArgumentError(absl::StrCat("all_reduce: mean needs a floating dtype, got ",
                                                   c10::toString(t.scalar_type()), " (use sum and divide)"));
  }
  return absl::OkStatus();
}

absl::Status CheckAllGather(const torch::Tensor& input, const torch::Tensor& output_WX, int world_size,
                            const torch::Device& device) {
  if (auto s = CheckTensor("all_gather", "input", input, device); !s.ok()) return s;
  if (auto s = CheckTensor("all_gather", "output", output_WX, device); !s.ok()) return s;
  if (auto s = CheckLike("all_gather", "output", output_WX, "input", input, false); !s.ok()) return s;
  std::vector<int64_t> want{world_size};
  for (int64_t d : input.sizes()) want.push_back(d);
  if (!output_WX.sizes().equals(want)) {
    return absl::InvalidArgumentError(absl::StrCat("all_gather: output has shape ", ShapeString(output_WX),
                                                   "; expected [", absl::StrJoin(want, ", "),
                                                   "] (world size, then the input's shape)"));
  }
  return absl::OkStatus();
}

absl::Status CheckAllToAll(const torch::Tensor& input, const torch::Tensor& output, int world_size,
                           const torch::Device& device) {
  if (auto s = CheckTensor("all_to_all", "input", input, device); !s.ok()) return s;
  if (auto s = CheckTensor("all_to_all", "output", output, device); !s.ok()) return s;
  if (auto s = CheckLike("all_to_all", "output", output, "input", input, true); !s.ok()) return s;
  if (input.dim() == 0 || input.size(0) % world_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("all_to_all: input of shape ", ShapeString(input),
                                                   " must have a dim 0 divisible by the world size ", world_size));
  }
  return absl::OkStatus();
}

absl::Status CheckRoot(int root, int world_size) {
  if (root < 0 || root >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("broadcast: root ", root, " is not a rank in [0, ", world_size, ")"));
  }
  return absl::OkStatus();
}

}  // namespace nmoe::comm
