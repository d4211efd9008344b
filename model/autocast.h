// CPU autocast (mixed precision) for the model's forward/backward pass.
//
// Two ways to run the model in bf16 (docs/model.md, "Compute dtype"):
//   - bf16 weights: build the CausalLm with dtype kBFloat16; everything runs in bf16
//     except RMSNorm statistics, rope tables and softmax (fp32 inside, as transformers).
//   - autocast: keep fp32 weights and wrap the pass in a CpuAutocast guard; LibTorch's
//     AutocastCPU dispatch runs matmuls/linears in bf16 and the rest in fp32 (the same
//     op lists as Python's torch.autocast("cpu", torch.bfloat16) in 1.13).
#pragma once

#include <c10/core/ScalarType.h>

namespace nmoe::model {

// RAII: enables CPU autocast to `dtype` (bf16) on this thread for its lifetime and
// restores the previous state after. `enabled` = false makes it a no-op, so callers can
// write `CpuAutocast guard(options.bf16_autocast);`. Not thread-transferable.
class CpuAutocast {
 public:
  explicit CpuAutocast(bool enabled, c10::ScalarType dtype = c10::kBFloat16);
  ~CpuAutocast();
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool active_;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::kBFloat16;
};

}  // namespace nmoe::model
