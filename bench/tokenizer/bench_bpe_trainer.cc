// Time to train a byte-level BPE vocabulary with nmoe::tokenizer::BpeTrainer
// on one core: counting pre-tokens, then the merges.
//
//   bench_bpe_trainer [--vocab-size 8192] [--max-mb 10] [--output tokenizer.json] FILE...
#include <time.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "tokenizer/bpe_trainer.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("nmoe BPE trainer benchmark");
  std::vector<std::string> files;
  int vocab_size = 8192;
  double max_mb = 10;
  std::string output;
  app.add_option("--vocab-size", vocab_size, "Vocabulary size, special tokens included");
  app.add_option("--max-mb", max_mb, "Stop reading after this many MB of text");
  app.add_option("--output", output, "Write the tokenizer.json here");
  app.add_option("files", files, "Text files, one document per line")->required();
  CLI11_PARSE(app, argc, argv);

  nmoe::tokenizer::BpeTrainerOptions options;
  options.vocab_size = vocab_size;
  absl::StatusOr<nmoe::tokenizer::BpeTrainer> trainer = nmoe::tokenizer::BpeTrainer::Create(options);
  if (!trainer.ok()) {
    std::cerr << trainer.status() << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  size_t bytes = 0;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string line;
    while (bytes < max_mb * 1e6 && std::getline(in, line)) {
      bytes += line.size() + 1;
      trainer->AddText(line);
    }
  }
  const double count_s = Seconds(start);
  const double count_cpu = CpuSeconds() - cpu_start;
  nmoe::tokenizer::BpeTrainerStats stats;
  absl::StatusOr<std::string> json = trainer->Train(&stats);
  if (!json.ok()) {
    std::cerr << json.status() << "\n";
    return 1;
  }
  const double total_s = Seconds(start);
  const double total_cpu = CpuSeconds() - cpu_start;
  std::cout << fmt::format(
      "{:.2f} MB, {} pre-tokens ({} distinct): count wall {:.2f} s (cpu {:.2f} s), merges wall {:.2f} s "
      "(cpu {:.2f} s); {} merges, vocab {}\n",
      bytes / 1e6, stats.words, stats.distinct_words, count_s, count_cpu, total_s - count_s,
      total_cpu - count_cpu, stats.merges, stats.vocab_size);
  if (!output.empty()) std::ofstream(output, std::ios::binary) << *json;
  return 0;
}
