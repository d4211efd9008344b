#include "trainer/task_support.h"

#include <unistd.h>

#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "compute/cpu_features.h"
#include "compute/dtype.h"
#include "data/token_shard.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;

absl::StatusOr<bool> UseBf16Autocast(const TaskContext& ctx) {
  const v1::Resources& r = ctx.task.spec().resources();
  if (r.device() == v1::DEVICE_KIND_CUDA) {
    return absl::FailedPreconditionError("this worker trains on the CPU only (resources.device is CUDA)");
  }
  auto choice = compute::ResolveComputeDtype(r.dtype(), r.device(), compute::DetectCpuFeatures(), std::nullopt);
  if (!choice.ok()) return choice.status();
  ctx.Info(absl::StrCat("compute dtype ", compute::ComputeDtypeName(choice->dtype), ": ", choice->reason,
                        choice->dtype == compute::ComputeDtype::kBf16
                            ? " (CPU autocast; weights and optimizer state stay fp32)"
                            : ""));
  return choice->dtype == compute::ComputeDtype::kBf16;
}

std::vector<LanguageFiles> ResolveCorpora(const TaskContext& ctx,
                                          const google::protobuf::RepeatedPtrField<v1::Corpus>& corpora) {
  std::vector<LanguageFiles> out;
  for (const v1::Corpus& c : corpora) {
    LanguageFiles files;
    files.language = c.language();
    for (const std::string& p : c.paths()) files.paths.push_back(ctx.Resolve(p).string());
    out.push_back(std::move(files));
  }
  return out;
}

absl::Status WriteFileAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + absl::StrCat(".tmp-", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), " to ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LanguagePerplexity>> EvaluateHeldout(model::CausalLm& model,
                                                                const tokenizer::Tokenizer& tokenizer,
                                                                const std::vector<LanguageFiles>& heldout,
                                                                const PerplexityOptions& options,
                                                                const TaskContext& ctx,
                                                                const std::map<std::string, UnigramCounts>* unigrams,
                                                                RoutingCounter* routing) {
  std::vector<LanguagePerplexity> results;
  const absl::Time start = absl::Now();
  for (const LanguageFiles& lang : heldout) {
    if (ctx.StopRequested()) return absl::CancelledError("evaluation stopped");
    const UnigramCounts* unigram = nullptr;
    if (unigrams != nullptr) {
      auto it = unigrams->find(lang.language);
      if (it == unigrams->end()) it = unigrams->find("");
      if (it != unigrams->end()) unigram = &it->second;
    }
    auto r = EvaluateLanguage(model, tokenizer, lang.language, lang.paths, options, unigram, routing);
    if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat("held-out ", lang.language, ": ", r.status().message()));
    results.push_back(*std::move(r));
  }
  ctx.Info(absl::StrFormat("held-out perplexity (sequence length %d%s, %.1f s):", options.sequence_length,
                           options.max_tokens > 0 ? absl::StrCat(", at most ", options.max_tokens, " tokens") : "",
                           absl::ToDoubleSeconds(absl::Now() - start)));
  for (const std::string& line : PerplexityTable(results)) ctx.Info("  " + line);
  return results;
}

absl::StatusOr<std::map<std::string, UnigramCounts>> CountUnigrams(const std::vector<std::string>& shards,
                                                                   const std::vector<std::string>& languages,
                                                                   int64_t vocab_size) {
  std::map<std::string, UnigramCounts> out;
  UnigramCounts& all = out[""];
  all.counts.assign(static_cast<size_t>(vocab_size), 0);
  for (size_t i = 0; i < shards.size(); ++i) {
    auto shard = data::TokenShard::Open(shards[i], /*verify_checksum=*/false);
    if (!shard.ok()) return shard.status();
    UnigramCounts& lang = out[i < languages.size() ? languages[i] : ""];
    if (lang.counts.empty()) lang.counts.assign(static_cast<size_t>(vocab_size), 0);
    for (uint64_t t = 0; t < (*shard)->num_tokens(); ++t) {
      const int32_t id = static_cast<int32_t>((*shard)->Token(t));
      lang.Add(id);
      if (&lang != &all) all.Add(id);
    }
  }
  return out;
}

}  // namespace nmoe::trainer
