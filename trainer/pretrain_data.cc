#include "trainer/pretrain_data.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "data/hash.h"
#include "data/text_reader.h"
#include "data/token_shard.h"
#include "data/tokenize.h"
#include "nlohmann/json.hpp"
#include "tokenizer/bpe_trainer.h"
#include "trainer/task_support.h"

namespace nmoe::trainer {
namespace fs = std::filesystem;
namespace {

std::string ReadFileOrEmpty(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::string> CorpusFingerprint(const std::vector<LanguageFiles>& corpora) {
  data::Sha256 h;
  for (const auto& c : corpora) {
    h.Update(absl::StrCat("lang:", c.language, "\n"));
    for (const auto& path : c.paths) {
      std::error_code ec;
      const uint64_t size = fs::file_size(path, ec);
      if (ec) return absl::NotFoundError(absl::StrCat("corpus file ", path, " (", c.language, "): ", ec.message()));
      NMOE_ASSIGN_OR_RETURN(std::string sha, data::Sha256File(path));
      h.Update(absl::StrCat("file:", fs::path(path).filename().string(), ":", size, ":", sha, "\n"));
    }
  }
  return h.HexDigest();
}

absl::StatusOr<tokenizer::Tokenizer> TrainOrReuseTokenizer(const std::vector<LanguageFiles>& corpora,
                                                           const std::string& corpus_fingerprint,
                                                           const TokenizerTraining& options, const fs::path& path,
                                                           const std::function<void(const std::string&)>& log) {
  const fs::path source_path = path.parent_path() / "tokenizer.source.json";
  const nlohmann::json source = {{"corpus_fingerprint", corpus_fingerprint},
                                 {"vocab_size", options.vocab_size},
                                 {"sample_bytes_per_language", options.sample_bytes_per_language}};
  std::error_code ec;
  if (fs::exists(path, ec)) {
    const std::string recorded = ReadFileOrEmpty(source_path);
    if (!recorded.empty() && nlohmann::json::parse(recorded, nullptr, false) == source) {
      auto reused = tokenizer::Tokenizer::FromFile(path.string());
      if (reused.ok()) {
        log(absl::StrCat("tokenizer: reusing ", path.string(), " (vocabulary ", reused->vocab_size(), ")"));
        return reused;
      }
      log(absl::StrCat("tokenizer: ", path.string(), " does not load (", reused.status().message(), "); retraining"));
    } else {
      log(absl::StrCat("tokenizer: ", path.string(), " was trained from other text or options; retraining"));
    }
  }
  // Balanced sample: the same byte budget for every language.
  uint64_t budget = options.sample_bytes_per_language;
  for (const auto& c : corpora) {
    uint64_t total = 0;
    for (const auto& p : c.paths) total += fs::file_size(p, ec);
    budget = std::min(budget, total);
  }
  tokenizer::BpeTrainerOptions bpe;
  bpe.vocab_size = options.vocab_size;
  NMOE_ASSIGN_OR_RETURN(tokenizer::BpeTrainer trainer, tokenizer::BpeTrainer::Create(bpe));
  const absl::Time start = absl::Now();
  uint64_t sampled = 0;
  for (const auto& c : corpora) {
    uint64_t taken = 0;
    for (const auto& p : c.paths) {
      NMOE_ASSIGN_OR_RETURN(auto reader, data::DocumentReader::Open(p));
      while (taken < budget) {
        NMOE_ASSIGN_OR_RETURN(std::optional<data::Document> doc, reader->Next());
        if (!doc) break;
        trainer.AddText(doc->text);
        taken += doc->text.size();
      }
      if (taken >= budget) break;
    }
    sampled += taken;
  }
  tokenizer::BpeTrainerStats stats;
  NMOE_ASSIGN_OR_RETURN(std::string json, trainer.Train(&stats));
  NMOE_RETURN_IF_ERROR(WriteFileAtomically(path, json));
  NMOE_RETURN_IF_ERROR(WriteFileAtomically(source_path, source.dump(2) + "\n"));
  log(absl::StrFormat("tokenizer: trained a byte-level BPE of %d tokens (%d merges) on %.1f MB (%d languages, "
                      "%.2f MB each) in %.1f s -> %s",
                      stats.vocab_size, stats.merges, static_cast<double>(sampled) / 1e6, corpora.size(),
                      static_cast<double>(budget) / 1e6, absl::ToDoubleSeconds(absl::Now() - start), path.string()));
  return tokenizer::Tokenizer::FromFile(path.string());
}

absl::StatusOr<PreparedShards> PrepareShards(const std::vector<LanguageFiles>& corpora,
                                             const std::string& corpus_fingerprint,
                                             const tokenizer::Tokenizer& tokenizer,
                                             const std::string& tokenizer_sha256, const fs::path& data_dir,
                                             const std::function<void(const std::string&)>& log) {
  PreparedShards prepared;
  prepared.fingerprint = data::Sha256Hex(absl::StrCat("tokenizer:", tokenizer_sha256, "\ncorpus:", corpus_fingerprint));
  const fs::path manifest_path = data_dir / "manifest.json";
  std::error_code ec;
  const std::string recorded = ReadFileOrEmpty(manifest_path);
  if (!recorded.empty()) {
    const nlohmann::json m = nlohmann::json::parse(recorded, nullptr, false);
    bool ok = m.is_object() && m.value("fingerprint", "") == prepared.fingerprint && m.contains("shards") &&
              m["shards"].is_array();
    if (ok) {
      for (const auto& name : m["shards"]) {
        const std::string path = (data_dir / name.get<std::string>()).string();
        auto shard = data::TokenShard::Open(path, /*verify_checksum=*/true);
        if (!shard.ok()) {
          log(absl::StrCat("data: ", shard.status().message(), "; re-tokenizing"));
          ok = false;
          break;
        }
        prepared.shards.push_back(path);
        const std::string file = name.get<std::string>();
        prepared.shard_languages.push_back(file.substr(0, file.rfind('-')));  // "<lang>-NNNNN.tok"
        prepared.documents += (*shard)->num_documents();
        prepared.tokens += (*shard)->num_tokens();
      }
    }
    if (ok) {
      log(absl::StrFormat("data: reusing %d shards in %s (%d documents, %d tokens)", prepared.shards.size(),
                          data_dir.string(), prepared.documents, prepared.tokens));
      return prepared;
    }
    prepared.shards.clear();
    prepared.shard_languages.clear();
    prepared.documents = prepared.tokens = 0;
  }
  fs::remove_all(data_dir, ec);
  fs::create_directories(data_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", data_dir.string(), ": ", ec.message()));
  const data::Encoder encoder = [&tokenizer](std::string_view text) { return tokenizer.Encode(text, false); };
  nlohmann::json languages = nlohmann::json::object();
  nlohmann::json names = nlohmann::json::array();
  const absl::Time start = absl::Now();
  for (const auto& c : corpora) {
    data::ShardBuildOptions options;
    options.vocab_size = static_cast<uint64_t>(tokenizer.vocab_size());
    options.out_prefix = (data_dir / c.language).string();
    NMOE_ASSIGN_OR_RETURN(data::ShardBuildResult built,
                          data::TokenizeToShards(c.paths, data::TextFormat::kAuto, encoder, options));
    for (const auto& s : built.shards) {
      prepared.shards.push_back(s);
      prepared.shard_languages.push_back(c.language);
      names.push_back(fs::path(s).filename().string());
    }
    prepared.documents += built.documents;
    prepared.tokens += built.tokens;
    languages[c.language] = {{"documents", built.documents},
                             {"tokens", built.tokens},
                             {"bytes", built.bytes_in},
                             {"bytes_per_token", built.tokens > 0 ? static_cast<double>(built.bytes_in) /
                                                                        static_cast<double>(built.tokens)
                                                                  : 0.0}};
    log(absl::StrFormat("data: %s: %d documents, %d tokens (%.2f bytes/token)", c.language, built.documents,
                        built.tokens,
                        built.tokens > 0 ? static_cast<double>(built.bytes_in) / static_cast<double>(built.tokens) : 0.0));
  }
  const nlohmann::json manifest = {{"fingerprint", prepared.fingerprint},
                                   {"tokenizer_sha256", tokenizer_sha256},
                                   {"corpus_fingerprint", corpus_fingerprint},
                                   {"languages", languages},
                                   {"shards", names}};
  NMOE_RETURN_IF_ERROR(WriteFileAtomically(manifest_path, manifest.dump(2) + "\n"));
  log(absl::StrFormat("data: tokenized %d documents into %d tokens in %.1f s", prepared.documents, prepared.tokens,
                      absl::ToDoubleSeconds(absl::Now() - start)));
  return prepared;
}

}  // namespace nmoe::trainer
