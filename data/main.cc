// nmoe-data: corpus and token-data tools (docs/data.md).
//   nmoe-data fetch-corpus [--out DIR] [--langs en,es,...] [--cache DIR] [--sample-bytes N] [--force]
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "data/corpus/fetch_corpus.h"

namespace {

int RunFetchCorpus(nmoe::data::FetchCorpusOptions options) {
  const auto start = std::chrono::steady_clock::now();
  options.progress = [start](std::string_view message) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "[fetch-corpus %6.1fs] %.*s\n", s, static_cast<int>(message.size()), message.data());
  };
  auto result = nmoe::data::FetchCorpus(options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) {
    std::fprintf(stderr, "nmoe-data fetch-corpus: %s\n", std::string(result.status().ToString()).c_str());
    return 1;
  }
  std::fprintf(stderr, "[fetch-corpus %6.1fs] %s %s (content sha256 %s)\n", seconds,
               result->reused ? "reused" : "wrote", options.out_dir.c_str(),
               result->manifest.value("content_sha256", std::string()).c_str());
  std::printf("%s\n", options.out_dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nmoe-data: corpus and token-data tools (docs/data.md)"};
  app.require_subcommand(1);

  nmoe::data::FetchCorpusOptions fetch;
  fetch.out_dir = nmoe::data::DefaultCorpusDir();
  CLI::App* fetch_cmd = app.add_subcommand(
      "fetch-corpus", "Fetch the LibreOffice help packages with apt-get, extract, clean and split the text");
  fetch_cmd->add_option("--out", fetch.out_dir, "Output folder")->capture_default_str();
  fetch_cmd->add_option("--langs", fetch.languages, "Languages (default: en,es,zh,de,fr,ru,ja,fi,el,hu,tr)")
      ->delimiter(',');
  fetch_cmd->add_option("--cache", fetch.cache_dir, "Folder for the downloaded .deb files (default: <cache>/debs)");
  fetch_cmd->add_option("--sample-bytes", fetch.sample_bytes,
                        "Per-language byte budget: whole pages in a fixed order until reached (0: everything)");
  fetch_cmd->add_option("--min-words", fetch.min_word_units, "Minimum line length in word units")
      ->capture_default_str();
  fetch_cmd->add_flag("--force", fetch.force, "Rebuild even when the manifest matches");

  CLI11_PARSE(app, argc, argv);
  if (fetch_cmd->parsed()) return RunFetchCorpus(fetch);
  return 2;
}
