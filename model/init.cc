#include "model/init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"

namespace nmoe::model {
namespace {

// normal_(0, std) drawn in fp32 on the CPU, then copied in (any dtype/device).
void FillNormal(at::Tensor& param, double std, at::Generator& gen) {
  if (param.scalar_type() == at::kFloat && param.is_cpu()) {
    param.normal_(0.0, std, gen);
    return;
  }
  at::Tensor draw = at::empty(param.sizes(), at::kFloat);
  draw.normal_(0.0, std, gen);
  param.copy_(draw);
}

}  // namespace

absl::Status RandomInit(CausalLm& model, uint64_t seed) {
  try {
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const double std = model.config().initializer_range;
    for (const auto& module : model.modules(/*include_self=*/false)) {
      if (auto* linear = dynamic_cast<Linear*>(module.get())) {
        at::Tensor w = linear->weight_OI();
        FillNormal(w, std, gen);
        if (linear->bias_O().defined()) linear->bias_O().zero_();
      } else if (auto* embedding = dynamic_cast<Embedding*>(module.get())) {
        at::Tensor w = embedding->weight_VD();
        FillNormal(w, std, gen);
      } else if (auto* norm = dynamic_cast<RmsNorm*>(module.get())) {
        norm->weight_D().fill_(1.0);
      }
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("random init: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::model
