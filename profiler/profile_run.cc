#include "profiler/profile_run.h"

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "model/autocast.h"

namespace nmoe::profiler {

absl::StatusOr<NeuronSpace> SpaceFor(const model::ModelConfig& c, const std::vector<Proj>& projs) {
  const int64_t hd = c.head_dim > 0 ? c.head_dim : c.hidden_size / std::max<int64_t>(1, c.num_attention_heads);
  const int64_t kv = c.num_key_value_heads > 0 ? c.num_key_value_heads : c.num_attention_heads;
  return NeuronSpace::Create(static_cast<int32_t>(c.num_hidden_layers),
                             {c.num_attention_heads * hd, kv * hd, kv * hd, c.hidden_size, c.intermediate_size,
                              c.intermediate_size, c.hidden_size},
                             projs);
}

absl::StatusOr<CollectedProfile> CollectProfile(model::CausalLm& model, const std::vector<std::string>& languages,
                                                const std::vector<SentenceBatch>& batches, const RunOptions& options) {
  CollectedProfile out;
  auto space = SpaceFor(model.config(), options.projs);
  if (!space.ok()) return space.status();
  out.space = *space;
  out.languages = languages;
  out.ap = options.collect.ap;
  out.lape = options.collect.lape;
  out.similarity = options.collect.similarity;
  int64_t total = 0;
  for (const SentenceBatch& b : batches) total += static_cast<int64_t>(b.sentence_ids.size());
  if (out.ap) {
    auto store = ResponseStore::Create(out.space.size(), total, options.memory_budget_bytes, options.spill_dir);
    if (!store.ok()) return store.status();
    out.responses = std::move(*store);
  }
  auto collector = std::make_shared<Collector>(out.space, model.config().hidden_size,
                                               static_cast<int32_t>(languages.size()), options.collect);
  model.SetHooks(collector);
  absl::Cleanup detach = [&model] { model.SetHooks(nullptr); };
  torch::NoGradGuard no_grad;
  int64_t done = 0;
  for (const SentenceBatch& batch : batches) {
    if (options.stop && options.stop()) return absl::CancelledError("profile: stopped");
    if (batch.language < 0 || static_cast<size_t>(batch.language) >= languages.size()) {
      return absl::InvalidArgumentError(absl::StrCat("profile: batch language ", batch.language, " out of range"));
    }
    try {
      collector->BeginBatch(batch.language, batch.mask_BT);
      model::ForwardOptions fwd;
      fwd.mask_BT = batch.mask_BT;
      fwd.compute_logits = false;
      {
        model::CpuAutocast autocast(options.bf16_autocast);
        auto result = model.Forward(batch.ids_BT, fwd);
        if (!result.ok()) return result.status();
      }
      if (out.ap) {
        const at::Tensor rows = collector->responses_BN().contiguous();
        const float* data = rows.data_ptr<float>();
        for (size_t r = 0; r < batch.sentence_ids.size(); ++r) {
          absl::Status s = out.responses->Append(batch.sentence_ids[r], batch.language,
                                                 data + static_cast<int64_t>(r) * out.space.size());
          if (!s.ok()) return s;
        }
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat("profile: ", e.what_without_backtrace()));
    }
    out.tokens += static_cast<uint64_t>(batch.real_tokens);
    done += static_cast<int64_t>(batch.sentence_ids.size());
    if (options.progress) options.progress(done, total);
  }
  out.sentences = done;
  if (out.lape) out.lape_counts = std::move(collector->lape());
  if (out.similarity) out.similarity_sums = std::move(collector->similarity());
  return out;
}

}  // namespace nmoe::profiler
