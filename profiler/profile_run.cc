#include "profiler/profile_run.h"

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

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

bool RunsBatch(size_t index, int rank, int world) {
  return world <= 1 || static_cast<int>(index % static_cast<size_t>(world)) == rank;
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
  if (options.world < 1 || options.rank < 0 || options.rank >= options.world) {
    return absl::InvalidArgumentError(absl::StrCat("profile: rank ", options.rank, " of ", options.world));
  }
  // Sentences of the whole list (chunk sizes), of this rank's share (progress), and the
  // similarity tokens a single run would take from each batch.
  int64_t all_sentences = 0, total = 0;
  std::vector<uint64_t> quota(batches.size(), 0);
  std::vector<uint64_t> seen(languages.size(), 0);
  for (size_t i = 0; i < batches.size(); ++i) {
    const SentenceBatch& b = batches[i];
    all_sentences += static_cast<int64_t>(b.sentence_ids.size());
    if (RunsBatch(i, options.rank, options.world)) total += static_cast<int64_t>(b.sentence_ids.size());
    if (b.language >= 0 && static_cast<size_t>(b.language) < languages.size()) {
      uint64_t& s = seen[static_cast<size_t>(b.language)];
      const uint64_t room = options.collect.similarity_tokens > s ? options.collect.similarity_tokens - s : 0;
      quota[i] = std::min<uint64_t>(room, static_cast<uint64_t>(std::max<int64_t>(b.real_tokens, 0)));
      s += quota[i];
    }
  }
  if (out.ap) {
    auto store = ResponseStore::Create(out.space.size(), all_sentences, options.memory_budget_bytes, options.spill_dir);
    if (!store.ok()) return store.status();
    out.responses = std::move(*store);
  }
  auto collector = std::make_shared<Collector>(out.space, model.config().hidden_size,
                                               static_cast<int32_t>(languages.size()), options.collect);
  model.SetHooks(collector);
  absl::Cleanup detach = [&model] { model.SetHooks(nullptr); };
  torch::NoGradGuard no_grad;
  int64_t done = 0;
  for (size_t index = 0; index < batches.size(); ++index) {
    if (!RunsBatch(index, options.rank, options.world)) continue;
    const SentenceBatch& batch = batches[index];
    if (options.stop && options.stop()) return absl::CancelledError("profile: stopped");
    if (batch.language < 0 || static_cast<size_t>(batch.language) >= languages.size()) {
      return absl::InvalidArgumentError(absl::StrCat("profile: batch language ", batch.language, " out of range"));
    }
    try {
      collector->BeginBatch(batch.language, batch.mask_BT, quota[index]);
      model::ForwardOptions fwd;
      fwd.mask_BT = batch.mask_BT;
      fwd.compute_logits = false;
      fwd.unpad = options.unpad;
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
    if (options.progress) options.progress(done, total, out.tokens);
  }
  out.sentences = done;
  if (out.lape) out.lape_counts = std::move(collector->lape());
  if (out.similarity) out.similarity_sums = std::move(collector->similarity());
  return out;
}

}  // namespace nmoe::profiler
