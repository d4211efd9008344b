#include "model/batched_matmul.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mm.h>
#include <torch/csrc/autograd/custom_function.h>

namespace nmoe::model {
namespace {

// out[i] = a[i] @ b[i] for every i, items spread over the intra-op threads. Inside
// at::parallel_for, LibTorch runs nested ops single-threaded and OpenMP OpenBLAS sees
// omp_in_parallel(), so each product uses one core.
at::Tensor ParallelBmm(const at::Tensor& a_NMK, const at::Tensor& b_NKP) {
  const int64_t n = a_NMK.size(0);
  at::Tensor out_NMP = at::empty({n, a_NMK.size(1), b_NKP.size(2)}, a_NMK.options());
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      at::Tensor out_MP = out_NMP.select(0, i);
      at::mm_out(out_MP, a_NMK.select(0, i), b_NKP.select(0, i));
    }
  });
  return out_NMP;
}

class BatchedMatmulFunction : public torch::autograd::Function<BatchedMatmulFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a_NMK,
                            const at::Tensor& b_NKP) {
    ctx->save_for_backward({a_NMK, b_NKP});
    return ParallelBmm(a_NMK, b_NKP);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& a_NMK = saved[0];
    const at::Tensor& b_NKP = saved[1];
    const at::Tensor grad_NMP = grads[0].contiguous();
    at::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = ParallelBmm(grad_NMP, b_NKP.transpose(1, 2));  // N,M,P @ N,P,K
    if (ctx->needs_input_grad(1)) grad_b = ParallelBmm(a_NMK.transpose(1, 2), grad_NMP);  // N,K,M @ N,M,P
    return {grad_a, grad_b};
  }
};

bool BlasFriendly(const at::Tensor& t) {
  // The last two dims must be addressable as a (possibly transposed) BLAS matrix.
  return t.stride(-1) == 1 || t.stride(-2) == 1;
}

}  // namespace

at::Tensor BatchedMatmul(const at::Tensor& a_NMK, const at::Tensor& b_NKP) {
  const bool fast = a_NMK.is_cpu() && b_NKP.is_cpu() && a_NMK.scalar_type() == at::kFloat &&
                    b_NKP.scalar_type() == at::kFloat && a_NMK.dim() == 3 && b_NKP.dim() == 3 &&
                    !at::autocast::is_cpu_enabled();
  if (!fast) return at::matmul(a_NMK, b_NKP);
  const at::Tensor a = BlasFriendly(a_NMK) ? a_NMK : a_NMK.contiguous();
  const at::Tensor b = BlasFriendly(b_NKP) ? b_NKP : b_NKP.contiguous();
  return BatchedMatmulFunction::apply(a, b);
}

}  // namespace nmoe::model
