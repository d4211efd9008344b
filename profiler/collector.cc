#include "profiler/collector.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>

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
  if (options_.similarity) similarity_sums_.Init(space_.num_layers(), num_languages, hidden_size);
}

void Collector::BeginBatch(int32_t language, const at::Tensor& mask_BT, std::optional<uint64_t> similarity_quota) {
  language_ = language;
  const at::Tensor mask = mask_BT.to(at::kLong).contiguous();
  batch_ = mask.size(0);
  time_ = mask.size(1);
  const int64_t* m = mask.data_ptr<int64_t>();
  valid_.assign(static_cast<size_t>(batch_ * time_), 0);
  lengths_.assign(static_cast<size_t>(batch_), 0.0);
  uint64_t real = 0;
  for (int64_t i = 0; i < batch_ * time_; ++i) {
    if (m[i] == 0) continue;
    valid_[static_cast<size_t>(i)] = 1;
    lengths_[static_cast<size_t>(i / time_)] += 1;
    ++real;
  }
  if (options_.lape) lape_.tokens[static_cast<size_t>(language)] += real;
  if (options_.ap) responses_BN_ = at::empty({batch_, space_.size()}, at::kFloat);
  if (options_.similarity) {
    // Keep the first `room` real tokens (row-major) of this language.
    const uint64_t seen = similarity_sums_.Tokens(0, language);
    const uint64_t room = similarity_quota.has_value()              ? *similarity_quota
                          : options_.similarity_tokens > seen ? options_.similarity_tokens - seen
                                                              : 0;
    similarity_batch_tokens_ = std::min(room, real);
    similarity_.assign(valid_.size(), 0);
    uint64_t taken = 0;
    for (size_t i = 0; i < valid_.size() && taken < similarity_batch_tokens_; ++i) {
      if (valid_[i]) similarity_[i] = 1, ++taken;
    }
  }
}

void Collector::OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) {
  const at::Tensor x_BTC = out_BTC.detach().to(at::kFloat).contiguous();
  const float* x = x_BTC.data_ptr<float>();
  const int64_t width = x_BTC.size(-1);
  if (c == model::Component::kMlpInput) {
    if (!options_.similarity || similarity_batch_tokens_ == 0) return;
    double* acc = similarity_sums_.Sum(layer, language_);
    // Unit-normalise each counted token, then add; channels split across threads.
    std::vector<double> inv(valid_.size(), 0.0);
    for (size_t i = 0; i < valid_.size(); ++i) {
      if (!similarity_[i]) continue;
      const float* row = x + static_cast<int64_t>(i) * width;
      double ss = 0;
      for (int64_t d = 0; d < width; ++d) ss += static_cast<double>(row[d]) * row[d];
      inv[i] = 1.0 / std::max(std::sqrt(ss), 1e-12);
    }
    at::parallel_for(0, width, 256, [&](int64_t d0, int64_t d1) {
      for (size_t i = 0; i < valid_.size(); ++i) {
        if (!similarity_[i]) continue;
        const float* row = x + static_cast<int64_t>(i) * width;
        for (int64_t d = d0; d < d1; ++d) acc[d] += row[d] * inv[i];
      }
    });
    similarity_sums_.Tokens(layer, language_) += similarity_batch_tokens_;
    return;
  }
  const Proj p = static_cast<Proj>(c);
  if (!space_.Has(p)) return;
  const int64_t offset = space_.Offset(static_cast<int32_t>(layer), p);
  const int64_t n = space_.size();
  float* resp = options_.ap ? responses_BN_.data_ptr<float>() : nullptr;
  uint64_t* counts = options_.lape ? lape_.counts[static_cast<size_t>(language_)].data() + offset : nullptr;
  // One pass: per sentence the sum over its real tokens (AP) and the count of
  // positive outputs (LAPE), for a block of channels.
  at::parallel_for(0, width, 256, [&](int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    std::vector<double> sum(static_cast<size_t>(w));
    std::vector<uint64_t> pos(static_cast<size_t>(w), 0);
    for (int64_t b = 0; b < batch_; ++b) {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t t = 0; t < time_; ++t) {
        if (!valid_[static_cast<size_t>(b * time_ + t)]) continue;
        const float* row = x + (b * time_ + t) * width + c0;
        if (resp != nullptr) {
          for (int64_t j = 0; j < w; ++j) sum[static_cast<size_t>(j)] += row[j];
        }
        if (counts != nullptr) {
          for (int64_t j = 0; j < w; ++j) pos[static_cast<size_t>(j)] += row[j] > 0.0f ? 1 : 0;
        }
      }
      if (resp != nullptr) {
        const double len = lengths_[static_cast<size_t>(b)];
        float* out = resp + b * n + offset + c0;
        for (int64_t j = 0; j < w; ++j) out[j] = len > 0 ? static_cast<float>(sum[static_cast<size_t>(j)] / len) : 0.0f;
      }
    }
    if (counts != nullptr) {
      for (int64_t j = 0; j < w; ++j) counts[c0 + j] += pos[static_cast<size_t>(j)];
    }
  });
}

}  // namespace nmoe::profiler
