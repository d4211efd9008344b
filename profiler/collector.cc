#include "profiler/collector.h"

#include <ATen/ops/cumsum.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>

#include <algorithm>

namespace nmoe::profiler {

model::HookMask Collector::MaskFor(const NeuronSpace& space, const CollectOptions& options) {
  model::HookMask mask(space.num_layers());
  if (options.ap || options.lape) {
    for (Proj p : space.projs()) mask.SetComponent(static_cast<model::Component>(p));
  }
  if (options.similarity) mask.SetComponent(model::Component::kMlpInput);
  return mask;
}

Collector::Collector(const NeuronSpace& space, int64_t hidden_size, int32_t num_languages,
                     const CollectOptions& options)
    : ActivationHooks(MaskFor(space, options)), space_(space), options_(options) {
  if (options_.lape) lape_.Init(static_cast<size_t>(num_languages), space_.size());
  if (options_.similarity) similarity_.Init(space_.num_layers(), num_languages, hidden_size);
}

void Collector::BeginBatch(int32_t language, const at::Tensor& mask_BT) {
  language_ = language;
  const at::Tensor mask = mask_BT.to(at::kFloat);
  mask_BT1_ = mask.unsqueeze(-1);
  valid_BT1_ = mask_BT1_.gt(0);
  lengths_B1_ = mask.sum(1, /*keepdim=*/true);
  const uint64_t real = static_cast<uint64_t>(mask.sum().item<double>());
  if (options_.lape) lape_.tokens[static_cast<size_t>(language)] += real;
  if (options_.ap) responses_BN_ = at::empty({mask.size(0), space_.size()}, at::kFloat);
  if (options_.similarity) {
    // Keep the first `room` real tokens (row-major) of this language.
    const uint64_t seen = similarity_.Tokens(0, language);
    const uint64_t room = options_.similarity_tokens > seen ? options_.similarity_tokens - seen : 0;
    similarity_batch_tokens_ = std::min(room, real);
    const at::Tensor order_BT = mask.reshape({-1}).cumsum(0).reshape(mask.sizes());
    similarity_BT1_ = (mask * order_BT.le(static_cast<double>(similarity_batch_tokens_)).to(at::kFloat)).unsqueeze(-1);
  }
}

void Collector::OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) {
  const at::Tensor x_BTC = out_BTC.detach().to(at::kFloat);
  if (c == model::Component::kMlpInput) {
    if (!options_.similarity || similarity_batch_tokens_ == 0) return;
    const at::Tensor unit_BTD = x_BTC / x_BTC.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
    const at::Tensor sum_D = (unit_BTD * similarity_BT1_).sum(at::IntArrayRef{0, 1}).to(at::kDouble).contiguous();
    double* acc = similarity_.Sum(layer, language_);
    const double* src = sum_D.data_ptr<double>();
    for (int64_t i = 0; i < similarity_.hidden; ++i) acc[i] += src[i];
    similarity_.Tokens(layer, language_) += similarity_batch_tokens_;
    return;
  }
  const Proj p = static_cast<Proj>(c);
  if (!space_.Has(p)) return;
  const int64_t offset = space_.Offset(static_cast<int32_t>(layer), p);
  const int64_t width = x_BTC.size(-1);
  if (options_.ap) {
    const at::Tensor mean_BC = (x_BTC * mask_BT1_).sum(1) / lengths_B1_;
    responses_BN_.narrow(1, offset, width).copy_(mean_BC);
  }
  if (options_.lape) {
    const at::Tensor count_C = x_BTC.gt(0).logical_and_(valid_BT1_).sum(at::IntArrayRef{0, 1}).contiguous();
    const int64_t* src = count_C.data_ptr<int64_t>();
    uint64_t* dst = lape_.counts[static_cast<size_t>(language_)].data() + offset;
    for (int64_t i = 0; i < width; ++i) dst[i] += static_cast<uint64_t>(src[i]);
  }
}

}  // namespace nmoe::profiler
