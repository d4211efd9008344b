#include "compute/torch_gemm.h"

#include <torch/types.h>

#include "absl/strings/str_cat.h"

namespace nmoe::compute {

GemmFn TorchFp32Gemm() {
  return [](int64_t m, int64_t n, int64_t k, const float* a, const float* b, bool b_transposed,
            float* c) -> absl::Status {
    try {
      const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
      // from_blob needs a non-const pointer; the inputs are only read.
      torch::Tensor a_MK = torch::from_blob(const_cast<float*>(a), {m, k}, opts);
      torch::Tensor b_KN = b_transposed ? torch::from_blob(const_cast<float*>(b), {n, k}, opts).t()
                                        : torch::from_blob(const_cast<float*>(b), {k, n}, opts);
      torch::Tensor c_MN = torch::from_blob(c, {m, n}, opts);
      at::mm_out(c_MN, a_MK, b_KN);
      return absl::OkStatus();
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("torch mm ", m, "x", n, "x", k, ": ", e.what_without_backtrace()));
    }
  };
}

}  // namespace nmoe::compute
