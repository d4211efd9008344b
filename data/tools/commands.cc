#include "data/tools/commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "data/hash.h"
#include "data/sentences.h"
#include "data/text_reader.h"
#include "data/token_shard.h"
#include "data/tokenize.h"
#include "data/tools/encoder.h"
#include "nlohmann/json.hpp"

namespace nmoe::data::tools {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class Stopwatch {
 public:
  double Seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

void Log(const Stopwatch& clock, const char* command, const std::string& message) {
  std::fprintf(stderr, "[%s %6.1fs] %s\n", command, clock.Seconds(), message.c_str());
}

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "nmoe-data %s: %s\n", command, std::string(status.ToString()).c_str());
  return 1;
}

absl::StatusOr<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path.string(), ": invalid JSON"));
  return j;
}

// Languages to process: the requested ones, else every language of the corpus manifest.
absl::StatusOr<std::vector<std::string>> CorpusLanguagesOf(const std::string& corpus_dir,
                                                           const std::vector<std::string>& requested, json* manifest) {
  NMOE_ASSIGN_OR_RETURN(*manifest, ReadJsonFile(fs::path(corpus_dir) / "manifest.json"));
  if (!manifest->contains("languages") || !(*manifest)["languages"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(corpus_dir, "/manifest.json has no \"languages\" object"));
  }
  std::vector<std::string> langs = requested;
  if (langs.empty()) {
    for (const CorpusLanguage& l : CorpusLanguages()) {
      if ((*manifest)["languages"].contains(l.code)) langs.push_back(l.code);
    }
  }
  for (const std::string& l : langs) {
    if (!(*manifest)["languages"].contains(l)) {
      return absl::NotFoundError(absl::StrCat("language '", l, "' is not in ", corpus_dir, "/manifest.json"));
    }
  }
  return langs;
}

absl::StatusOr<std::vector<std::string>> ReadParagraphs(const std::string& path) {
  NMOE_ASSIGN_OR_RETURN(std::unique_ptr<DocumentReader> reader, DocumentReader::Open(path, TextFormat::kPlain));
  std::vector<std::string> out;
  while (true) {
    NMOE_ASSIGN_OR_RETURN(std::optional<Document> doc, reader->Next());
    if (!doc) break;
    out.push_back(std::move(doc->text));
  }
  return out;
}

absl::Status BuildShards(const BuildShardsOptions& o) {
  Stopwatch clock;
  if (o.corpus_dir.empty() == o.inputs.empty()) {
    return absl::InvalidArgumentError("give either --corpus DIR or --input FILE... (not both)");
  }
  NMOE_ASSIGN_OR_RETURN(LoadedEncoder enc, LoadEncoder(o.tokenizer));
  NMOE_ASSIGN_OR_RETURN(std::string tokenizer_sha, Sha256File(o.tokenizer));
  Log(clock, "build-shards", absl::StrCat("tokenizer ", o.tokenizer, ": vocab ", enc.vocab_size, ", ",
                                          TokenBytesForVocab(enc.vocab_size) == 2 ? "uint16 shards" : "uint32 shards"));
  json index = {{"format", "nmoe-token-shards/1"},
                {"tokenizer",
                 {{"path", o.tokenizer},
                  {"sha256", tokenizer_sha},
                  {"vocab_size", enc.vocab_size},
                  {"bos_id", enc.bos_id ? json(*enc.bos_id) : json(nullptr)},
                  {"eos_id", enc.eos_id ? json(*enc.eos_id) : json(nullptr)}}}};
  ShardBuildOptions build;
  build.vocab_size = enc.vocab_size;
  build.max_tokens_per_shard = o.shard_tokens;
  auto run = [&](const std::vector<std::string>& inputs, const fs::path& prefix,
                 const std::string& label) -> absl::StatusOr<json> {
    std::error_code ec;
    fs::create_directories(prefix.parent_path(), ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot create ", prefix.parent_path().string()));
    build.out_prefix = prefix.string();
    Stopwatch t;
    NMOE_ASSIGN_OR_RETURN(ShardBuildResult r, TokenizeToShards(inputs, TextFormat::kAuto, enc.encode, build));
    json shards = json::array();
    for (const std::string& s : r.shards) shards.push_back(fs::relative(s, o.out_dir).generic_string());
    const double tokens = static_cast<double>(std::max<uint64_t>(r.tokens, 1));
    const double cpt = static_cast<double>(r.chars_in) / tokens;
    Log(clock, "build-shards",
        absl::StrFormat("%s: %d documents, %d tokens, %.2f chars/token, %.2f bytes/token, %.0f tokens/s", label,
                        r.documents, r.tokens, cpt, static_cast<double>(r.bytes_in) / tokens,
                        static_cast<double>(r.tokens) / std::max(t.Seconds(), 1e-9)));
    return json{{"shards", shards}, {"documents", r.documents}, {"tokens", r.tokens}, {"bytes", r.bytes_in},
                {"chars", r.chars_in}, {"chars_per_token", cpt}};
  };
  if (!o.corpus_dir.empty()) {
    json manifest;
    NMOE_ASSIGN_OR_RETURN(std::vector<std::string> langs, CorpusLanguagesOf(o.corpus_dir, o.languages, &manifest));
    index["corpus"] = {{"path", o.corpus_dir}, {"content_sha256", manifest.value("content_sha256", "")}};
    for (const std::string& lang : langs) {
      for (const std::string& split : o.splits) {
        NMOE_ASSIGN_OR_RETURN(index["languages"][lang][split],
                              run({(fs::path(o.corpus_dir) / lang / (split + ".txt")).string()},
                                  fs::path(o.out_dir) / lang / split, lang + "/" + split));
      }
    }
  } else {
    NMOE_ASSIGN_OR_RETURN(index["inputs"], run(o.inputs, fs::path(o.out_dir) / "shard", "inputs"));
  }
  std::ofstream out(fs::path(o.out_dir) / "index.json");
  out << index.dump(2) << "\n";
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", o.out_dir, "/index.json"));
  Log(clock, "build-shards", absl::StrCat("wrote ", o.out_dir, "/index.json"));
  return absl::OkStatus();
}

absl::Status MakeSentences(const SentencesOptions& o) {
  Stopwatch clock;
  json manifest;
  NMOE_ASSIGN_OR_RETURN(std::vector<std::string> langs, CorpusLanguagesOf(o.corpus_dir, o.languages, &manifest));
  std::optional<LoadedEncoder> enc;
  if (!o.tokenizer.empty()) {
    NMOE_ASSIGN_OR_RETURN(enc, LoadEncoder(o.tokenizer));
  }
  SentenceSetOptions options;
  options.count = o.count;
  options.min_word_units = o.min_words;
  options.max_tokens = o.max_tokens;
  options.seed = o.seed;
  options.allow_fewer = o.allow_fewer;
  std::vector<LabeledSentence> all;
  for (const std::string& lang : langs) {
    NMOE_ASSIGN_OR_RETURN(std::vector<std::string> paragraphs,
                          ReadParagraphs((fs::path(o.corpus_dir) / lang / (o.split + ".txt")).string()));
    SentenceSetStats stats;
    NMOE_ASSIGN_OR_RETURN(std::vector<std::string> chosen,
                          SelectSentences(paragraphs, lang, options, enc ? &enc->encode : nullptr, &stats));
    Log(clock, "sentences", absl::StrCat(lang, ": ", chosen.size(), " of ", stats.sentences, " sentences (",
                                         stats.dropped_length, " length, ", stats.dropped_duplicate, " duplicate, ",
                                         stats.dropped_tokens, " over ", o.max_tokens, " tokens)"));
    for (std::string& s : chosen) all.push_back({lang, std::move(s)});
  }
  NMOE_RETURN_IF_ERROR(WriteSentenceSet(o.out, all));
  Log(clock, "sentences", absl::StrCat("wrote ", all.size(), " sentences to ", o.out));
  return absl::OkStatus();
}

}  // namespace

CLI::App* AddFetchCorpus(CLI::App& app, FetchCorpusOptions* o) {
  o->out_dir = DefaultCorpusDir();
  CLI::App* cmd = app.add_subcommand(
      "fetch-corpus", "Fetch the LibreOffice help packages with apt-get, extract, clean and split the text");
  cmd->add_option("--out", o->out_dir, "Output folder")->capture_default_str();
  cmd->add_option("--langs", o->languages, "Languages (default: en,es,zh,de,fr,ru,ja,fi,el,hu,tr)")->delimiter(',');
  cmd->add_option("--cache", o->cache_dir, "Folder for the downloaded .deb files (default: <cache>/debs)");
  cmd->add_option("--sample-bytes", o->sample_bytes,
                  "Per-language byte budget: whole pages in a fixed order until reached (0: everything)");
  cmd->add_option("--min-words", o->min_word_units, "Minimum line length in word units")->capture_default_str();
  cmd->add_flag("--force", o->force, "Rebuild even when the manifest matches");
  return cmd;
}

int RunFetchCorpus(FetchCorpusOptions options) {
  Stopwatch clock;
  options.progress = [&clock](std::string_view m) { Log(clock, "fetch-corpus", std::string(m)); };
  auto result = FetchCorpus(options);
  if (!result.ok()) return Fail("fetch-corpus", result.status());
  Log(clock, "fetch-corpus",
      absl::StrCat(result->reused ? "reused " : "wrote ", options.out_dir, " (content sha256 ",
                   result->manifest.value("content_sha256", std::string()), ")"));
  std::printf("%s\n", options.out_dir.c_str());
  return 0;
}

CLI::App* AddBuildShards(CLI::App& app, BuildShardsOptions* o) {
  CLI::App* cmd = app.add_subcommand("build-shards", "Tokenize a corpus (or text/JSONL files) into token shards");
  cmd->add_option("--corpus", o->corpus_dir, "A fetch-corpus output folder");
  cmd->add_option("--input", o->inputs, "Text (one document per line) or JSONL files, instead of --corpus");
  cmd->add_option("--langs", o->languages, "Languages (default: all in the corpus)")->delimiter(',');
  cmd->add_option("--splits", o->splits, "Splits")->delimiter(',')->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json")->required();
  cmd->add_option("--out", o->out_dir, "Output folder (shards and index.json)")->required();
  cmd->add_option("--shard-tokens", o->shard_tokens, "Close a shard after this many tokens")->capture_default_str();
  return cmd;
}

int RunBuildShards(const BuildShardsOptions& options) {
  absl::Status s = BuildShards(options);
  return s.ok() ? 0 : Fail("build-shards", s);
}

CLI::App* AddSentences(CLI::App& app, SentencesOptions* o) {
  CLI::App* cmd = app.add_subcommand("sentences", "Select per-language profiling sentences from a corpus");
  cmd->add_option("--corpus", o->corpus_dir, "A fetch-corpus output folder")->required();
  cmd->add_option("--split", o->split, "Split to draw from")->capture_default_str();
  cmd->add_option("--langs", o->languages, "Languages (default: all in the corpus)")->delimiter(',');
  cmd->add_option("--count", o->count, "Sentences per language")->capture_default_str();
  cmd->add_option("--min-words", o->min_words, "Minimum length in word units")->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json: enables --max-tokens");
  cmd->add_option("--max-tokens", o->max_tokens, "Drop longer sentences (needs --tokenizer)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Selection seed")->capture_default_str();
  cmd->add_flag("--allow-fewer", o->allow_fewer, "Accept fewer than --count sentences");
  cmd->add_option("--out", o->out, "Output JSONL file")->required();
  return cmd;
}

int RunSentences(const SentencesOptions& options) {
  absl::Status s = MakeSentences(options);
  return s.ok() ? 0 : Fail("sentences", s);
}

}  // namespace nmoe::data::tools
