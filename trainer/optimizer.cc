#include "trainer/optimizer.h"

#include <set>
#include <vector>

namespace nmoe::trainer {

std::unique_ptr<torch::optim::AdamW> BuildAdamW(const torch::nn::Module& module, const AdamWSettings& settings) {
  std::vector<at::Tensor> decay, no_decay;
  std::set<const void*> seen;
  for (const at::Tensor& p : module.parameters(/*recurse=*/true)) {
    if (!p.requires_grad() || !seen.insert(p.unsafeGetTensorImpl()).second) continue;
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(settings.lr)
                                                            .betas({settings.beta1, settings.beta2})
                                                            .eps(settings.eps)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, options(settings.weight_decay));
  groups.emplace_back(no_decay, options(0.0));
  torch::optim::AdamWOptions defaults(settings.lr);
  defaults.betas({settings.beta1, settings.beta2}).eps(settings.eps).weight_decay(settings.weight_decay);
  return std::make_unique<torch::optim::AdamW>(std::move(groups), defaults);
}

}  // namespace nmoe::trainer
