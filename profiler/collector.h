// Activation collection on model::CausalLm through its hook points (model/hooks.h).
// One forward pass feeds every requested criterion:
//   AP          per-sentence mean of each profiled projection's output over the
//               sentence's real tokens (BOS included): responses_BN(), flat neuron order
//   LAPE        per-language counts of real tokens where the output is > 0
//   similarity  per layer and language, the sum of unit-normalised MLP inputs of up to
//               `similarity_tokens` real tokens per language (the first ones seen)
// Hooks are requested only for what is asked (HookMask), so unused ones cost nothing.
// Every batch holds sentences of one language. Padding tokens never count; in an
// unpadded forward (model::ForwardOptions::unpad) the hooks get the real rows only. The
// reductions are single passes over each activation (no temporaries), in double,
// split over channels with at::parallel_for.
//
// Shape legend: B sentences, T tokens, C a projection's channels, N profiled neurons,
// D hidden size.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "model/hooks.h"
#include "profiler/neuron_space.h"
#include "profiler/profile_state.h"

namespace nmoe::profiler {

struct CollectOptions {
  bool ap = true;
  bool lape = false;
  bool similarity = false;
  uint64_t similarity_tokens = 100'000;  // per language (and per layer)
};

class Collector : public model::ActivationHooks {
 public:
  Collector(const NeuronSpace& space, int64_t hidden_size, int32_t num_languages, const CollectOptions& options);

  // Before each forward: the batch's language and its (B,T) valid-token mask (1 = real).
  // Similarity counts the first `similarity_quota` real tokens of the batch (row-major);
  // none given = what is left of the language's `similarity_tokens` in this collector.
  // (A gang member gives the quota a single run over all batches would use.)
  void BeginBatch(int32_t language, const at::Tensor& mask_BT, std::optional<uint64_t> similarity_quota = std::nullopt);

  // Takes the padded (B,T,C) layout or, in an unpadded forward, the (1,N,C) real rows.
  void OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) override;
  bool TakesPackedRows() const override { return true; }

  // After the forward (AP): the batch's mean responses, fp32 (B, N).
  const at::Tensor& responses_BN() const { return responses_BN_; }
  LapeCounts& lape() { return lape_; }
  SimilaritySums& similarity() { return similarity_sums_; }

 private:
  static model::HookMask MaskFor(const NeuronSpace& space, const CollectOptions& options);

  NeuronSpace space_;
  CollectOptions options_;
  int32_t language_ = 0;
  int64_t batch_ = 0, time_ = 0;
  std::vector<int64_t> padded_rows_;  // real token k (row-major) -> its position b*T + t
  std::vector<int64_t> starts_;       // B+1: sentence b's real tokens are k in [starts_[b], starts_[b+1])
  uint64_t similarity_batch_tokens_ = 0;
  at::Tensor responses_BN_;
  LapeCounts lape_;
  SimilaritySums similarity_sums_;
};

}  // namespace nmoe::profiler
