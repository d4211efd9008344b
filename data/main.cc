// nmoe-data: corpus and token-data tools (docs/data.md).
//   nmoe-data fetch-corpus [--out DIR] [--langs en,es,...] [--cache DIR] [--sample-bytes N] [--force]
//   nmoe-data build-shards --tokenizer tokenizer.json --out DIR (--corpus DIR | --input FILE...)
//   nmoe-data sentences --corpus DIR --out FILE [--count 500] [--tokenizer tokenizer.json]
#include "CLI/CLI.hpp"
#include "data/tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"nmoe-data: corpus and token-data tools (docs/data.md)"};
  app.require_subcommand(1);
  nmoe::data::FetchCorpusOptions fetch;
  nmoe::data::tools::BuildShardsOptions shards;
  nmoe::data::tools::SentencesOptions sentences;
  CLI::App* fetch_cmd = nmoe::data::tools::AddFetchCorpus(app, &fetch);
  CLI::App* shards_cmd = nmoe::data::tools::AddBuildShards(app, &shards);
  CLI::App* sentences_cmd = nmoe::data::tools::AddSentences(app, &sentences);
  CLI11_PARSE(app, argc, argv);
  if (fetch_cmd->parsed()) return nmoe::data::tools::RunFetchCorpus(fetch);
  if (shards_cmd->parsed()) return nmoe::data::tools::RunBuildShards(shards);
  if (sentences_cmd->parsed()) return nmoe::data::tools::RunSentences(sentences);
  return 2;
}
