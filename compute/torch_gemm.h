// LibTorch's fp32 GEMM as a GemmFn (the header stays torch-free).
#pragma once

#include "compute/gemm_check.h"

namespace nmoe::compute {

// at::mm on tensors viewing the caller's buffers: the exact path a model's
// fp32 matmul takes (LibTorch -> sgemm_ of the loaded BLAS). c10::Error
// becomes INTERNAL with the message.
GemmFn TorchFp32Gemm();

}  // namespace nmoe::compute
