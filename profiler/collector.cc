#include "profiler/collector.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace nmoe::profiler {

namespace {

// acc[j] += r[j] and pos[j] += (r[j] > 0) for j < w. Written in blocks of 8 with
// restrict pointers so that -O2 vectorizes it: this is the profiler's inner loop.
void AddRow(const float* __restrict r, float* __restrict acc, uint32_t* __restrict pos, int64_t w) {
  int64_t j = 0;
  for (; j + 8 <= w; j += 8) {
    for (int64_t l = 0; l < 8; ++l) {
      acc[j + l] += r[j + l];
      pos[j + l] += r[j + l] > 0.0f ? 1u : 0u;
    }
  }
  for (; j < w; ++j) {
    acc[j] += r[j];
    pos[j] += r[j] > 0.0f ? 1u : 0u;
  }
}

}  // namespace

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
  padded_rows_.clear();
  starts_.assign(static_cast<size_t>(batch_) + 1, 0);
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t t = 0; t < time_; ++t) {
      if (m[b * time_ + t] != 0) padded_rows_.push_back(b * time_ + t);
    }
    starts_[static_cast<size_t>(b) + 1] = static_cast<int64_t>(padded_rows_.size());
  }
  const uint64_t real = padded_rows_.size();
  if (options_.lape) lape_.tokens[static_cast<size_t>(language)] += real;
  if (options_.ap) responses_BN_ = at::empty({batch_, space_.size()}, at::kFloat);
  if (options_.similarity) {
    // Keep the first `room` real tokens (row-major) of this language.
    const uint64_t seen = similarity_sums_.Tokens(0, language);
    const uint64_t room = similarity_quota.has_value()              ? *similarity_quota
                          : options_.similarity_tokens > seen ? options_.similarity_tokens - seen
                                                              : 0;
    similarity_batch_tokens_ = std::min(room, real);
  }
}

void Collector::OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) {
  const at::Tensor x_BTC = out_BTC.detach().to(at::kFloat).contiguous();
  const float* x = x_BTC.data_ptr<float>();
  const int64_t width = x_BTC.size(-1);
  // Real token k (row-major) is row k of packed rows (1,N,C), or row padded_rows_[k]
  // of the padded (B,T,C) layout.
  const int64_t rows = x_BTC.numel() / std::max<int64_t>(width, 1);
  const int64_t real = static_cast<int64_t>(padded_rows_.size());
  TORCH_CHECK(rows == batch_ * time_ || rows == real, "collector: activation ", model::ComponentName(c), " of layer ",
              layer, " has ", rows, " rows; the batch has ", batch_, "x", time_, " positions, ", real, " real");
  const bool packed = rows == real;
  const auto row = [&](int64_t k) { return x + (packed ? k : padded_rows_[static_cast<size_t>(k)]) * width; };
  if (c == model::Component::kMlpInput) {
    if (!options_.similarity || similarity_batch_tokens_ == 0) return;
    double* acc = similarity_sums_.Sum(layer, language_);
    const int64_t counted = static_cast<int64_t>(similarity_batch_tokens_);
    // Unit-normalise each counted token (the first ones), then add; channels split
    // across threads.
    std::vector<double> inv(static_cast<size_t>(counted), 0.0);
    for (int64_t k = 0; k < counted; ++k) {
      const float* r = row(k);
      double ss = 0;
      for (int64_t d = 0; d < width; ++d) ss += static_cast<double>(r[d]) * r[d];
      inv[static_cast<size_t>(k)] = 1.0 / std::max(std::sqrt(ss), 1e-12);
    }
    at::parallel_for(0, width, 256, [&](int64_t d0, int64_t d1) {
      for (int64_t k = 0; k < counted; ++k) {
        const float* r = row(k);
        const double w = inv[static_cast<size_t>(k)];
        for (int64_t d = d0; d < d1; ++d) acc[d] += r[d] * w;
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
  // positive outputs (LAPE), for a block of channels. Sums run in fp32 over runs of
  // kRun tokens and in double across runs.
  constexpr int64_t kRun = 16;
  at::parallel_for(0, width, 256, [&](int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    std::vector<double> sum(static_cast<size_t>(w));
    std::vector<float> part(static_cast<size_t>(w));
    std::vector<uint32_t> pos(static_cast<size_t>(w), 0);
    for (int64_t b = 0; b < batch_; ++b) {
      std::fill(sum.begin(), sum.end(), 0.0);
      const int64_t k0 = starts_[static_cast<size_t>(b)], k1 = starts_[static_cast<size_t>(b) + 1];
      for (int64_t r0 = k0; r0 < k1; r0 += kRun) {
        std::fill(part.begin(), part.end(), 0.0f);
        for (int64_t k = r0; k < std::min(k1, r0 + kRun); ++k) AddRow(row(k) + c0, part.data(), pos.data(), w);
        for (int64_t j = 0; j < w; ++j) sum[static_cast<size_t>(j)] += part[static_cast<size_t>(j)];
      }
      if (resp != nullptr) {
        const double len = static_cast<double>(k1 - k0);
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
