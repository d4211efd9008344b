// Encoding speed of nmoe::tokenizer: MB/s on the lines of text files, cold
// (empty pre-token cache) and warm, on 1..N threads sharing one Tokenizer.
//
//   bench_tokenizer --tokenizer tokenizer.json [--threads N] [--repeat R] FILE...
//   bench_tokenizer --tokenizer tokenizer.json --print FILE   (ids per line, JSON)
#include <time.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "tokenizer/tokenizer.h"

namespace {

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::vector<std::string> lines;
  std::string text = s.str();
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

// CPU seconds of the whole process (all threads): what the benchmark costs
// regardless of other load on the machine.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("nmoe tokenizer benchmark");
  std::string tokenizer_path;
  std::vector<std::string> files;
  int threads = 1;
  int repeat = 3;
  bool print = false;
  bool add_special = false;
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json")->required();
  app.add_option("--threads", threads, "Encoding threads (one shared Tokenizer)");
  app.add_option("--repeat", repeat, "Passes over the text (the first is cold)");
  app.add_flag("--print", print, "Print the ids of each line as JSON instead of timing");
  app.add_flag("--add-special-tokens", add_special, "Apply the post-processor template");
  app.add_option("files", files, "Text files (one document per line)")->required();
  CLI11_PARSE(app, argc, argv);

  const auto load_start = std::chrono::steady_clock::now();
  absl::StatusOr<nmoe::tokenizer::Tokenizer> tokenizer = nmoe::tokenizer::Tokenizer::FromFile(tokenizer_path);
  if (!tokenizer.ok()) {
    std::cerr << tokenizer.status() << "\n";
    return 1;
  }
  const double load_s = Seconds(load_start);
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (const std::string& f : files) {
    for (std::string& line : ReadLines(f)) {
      bytes += line.size();
      lines.push_back(std::move(line));
    }
  }
  if (print) {
    std::string out;
    for (const std::string& line : lines) {
      out += "[";
      const std::vector<int32_t> ids = tokenizer->Encode(line, add_special);
      for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
      out += "]\n";
    }
    std::cout << out;
    return 0;
  }
  std::cout << fmt::format("load {:.2f} s; {} lines, {:.2f} MB\n", load_s, lines.size(), bytes / 1e6);
  for (int pass = 0; pass < repeat; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    std::vector<size_t> tokens(threads, 0);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<int32_t> ids;
        for (size_t i = t; i < lines.size(); i += threads) {
          ids.clear();
          tokenizer->EncodeTo(lines[i], add_special, &ids);
          tokens[t] += ids.size();
        }
      });
    }
    for (std::thread& w : workers) w.join();
    const double s = Seconds(start);
    const double cpu = CpuSeconds() - cpu_start;
    size_t total = 0;
    for (size_t n : tokens) total += n;
    std::cout << fmt::format(
        "pass {} ({}): wall {:.2f} s, {:.1f} MB/s, {:.2f} M tokens/s; cpu {:.2f} s, {:.1f} MB per cpu-s; "
        "{:.2f} bytes/token\n",
        pass, pass == 0 ? "cold cache" : "warm", s, bytes / 1e6 / s, total / 1e6 / s, cpu, bytes / 1e6 / cpu,
        static_cast<double>(bytes) / total);
  }
  return 0;
}
