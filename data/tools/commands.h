// The subcommands of nmoe-data (data/main.cc). Each Add* registers its flags on `app`
// and returns the subcommand; Run* executes it after parsing and returns the exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "data/corpus/fetch_corpus.h"

namespace nmoe::data::tools {

CLI::App* AddFetchCorpus(CLI::App& app, FetchCorpusOptions* options);
int RunFetchCorpus(FetchCorpusOptions options);

struct BuildShardsOptions {
  std::string corpus_dir;                 // a fetch-corpus output folder
  std::vector<std::string> languages;     // default: every language in the corpus manifest
  std::vector<std::string> splits = {"train", "validation", "test"};
  std::vector<std::string> inputs;        // instead of --corpus: text/JSONL files
  std::string tokenizer;                  // tokenizer.json
  std::string out_dir;
  uint64_t shard_tokens = 256ull << 20;
};
CLI::App* AddBuildShards(CLI::App& app, BuildShardsOptions* options);
int RunBuildShards(const BuildShardsOptions& options);

struct SentencesOptions {
  std::string corpus_dir;
  std::string split = "validation";
  std::vector<std::string> languages;
  std::string tokenizer;  // optional: enables the max-token filter
  std::string out;
  size_t count = 500;
  int min_words = 5;
  size_t max_tokens = 256;
  uint64_t seed = 0;
  bool allow_fewer = false;
};
CLI::App* AddSentences(CLI::App& app, SentencesOptions* options);
int RunSentences(const SentencesOptions& options);

}  // namespace nmoe::data::tools
