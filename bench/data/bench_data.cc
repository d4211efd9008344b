// bench_data: token shard write / open+verify / packing throughput on a synthetic shard.
//   bench_data [--tokens N] [--vocab V] [--seq-len T] [--doc-tokens D] [--dir DIR]
// Documents have D tokens on average (uniform in [1, 2D)); ids are uniform in [0, V).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "CLI/CLI.hpp"
#include "data/packing.h"
#include "data/rng.h"
#include "data/token_shard.h"

namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "bench_data: %s\n", std::string(s.ToString()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Token shard and packing throughput"};
  uint64_t tokens = 64ull << 20, vocab = 128256, doc_tokens = 400;
  int64_t seq_len = 1024;
  std::string dir = std::filesystem::temp_directory_path().string();
  app.add_option("--tokens", tokens)->capture_default_str();
  app.add_option("--vocab", vocab)->capture_default_str();
  app.add_option("--seq-len", seq_len)->capture_default_str();
  app.add_option("--doc-tokens", doc_tokens)->capture_default_str();
  app.add_option("--dir", dir, "Where the shard is written (removed at the end)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::string path = dir + "/bench_data.tok";

  nmoe::data::SplitMix64 rng(1);
  auto t = std::chrono::steady_clock::now();
  {
    auto writer = nmoe::data::TokenShardWriter::Create(path, vocab);
    if (!writer.ok()) return Fail(writer.status());
    std::vector<int32_t> doc;
    for (uint64_t written = 0; written < tokens;) {
      doc.resize(std::min<uint64_t>(1 + rng.Below(2 * doc_tokens - 1), tokens - written));
      for (int32_t& id : doc) id = static_cast<int32_t>(rng.Below(vocab));
      if (absl::Status s = (*writer)->AddDocument(doc); !s.ok()) return Fail(s);
      written += doc.size();
    }
    if (absl::Status s = (*writer)->Finish(); !s.ok()) return Fail(s);
  }
  const double write_s = Since(t);
  const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;

  t = std::chrono::steady_clock::now();
  auto shard = nmoe::data::TokenShard::Open(path, /*verify_checksum=*/true);
  if (!shard.ok()) return Fail(shard.status());
  const double open_s = Since(t);
  t = std::chrono::steady_clock::now();
  auto unverified = nmoe::data::TokenShard::Open(path, /*verify_checksum=*/false);
  if (!unverified.ok()) return Fail(unverified.status());
  const double open_fast_s = Since(t);

  nmoe::data::PackingOptions o;
  o.seq_len = seq_len;
  o.bos_id = 0;
  o.eos_id = 1;
  o.seed = 7;
  t = std::chrono::steady_clock::now();
  auto loader = nmoe::data::PackedLoader::Create({std::shared_ptr<const nmoe::data::TokenShard>(std::move(*shard))}, o);
  if (!loader.ok()) return Fail(loader.status());
  const double create_s = Since(t);
  t = std::chrono::steady_clock::now();
  uint64_t checksum = 0;
  for (uint64_t i = 0; i < (*loader)->windows_per_rank(); ++i) checksum += (*loader)->Next().tokens[0];
  const double pack_s = Since(t);
  const double packed = static_cast<double>((*loader)->windows_per_rank() * static_cast<uint64_t>(seq_len));

  std::printf("shard: %llu tokens, %.1f MB (%u-byte ids), %llu documents\n", static_cast<unsigned long long>(tokens), mb,
              (*unverified)->token_bytes(), static_cast<unsigned long long>((*unverified)->num_documents()));
  std::printf("write:                 %.2f s  %.0f MB/s\n", write_s, mb / write_s);
  std::printf("open + SHA-256 verify: %.3f s  %.0f MB/s\n", open_s, mb / open_s);
  std::printf("open without verify:   %.4f s\n", open_fast_s);
  std::printf("packing: create %.3f s; %llu shuffled windows of %lld in %.2f s = %.1f M tokens/s (checksum %llu)\n",
              create_s, static_cast<unsigned long long>((*loader)->windows_per_rank()), static_cast<long long>(seq_len),
              pack_s, packed / pack_s / 1e6, static_cast<unsigned long long>(checksum));
  std::filesystem::remove(path);
  return 0;
}
