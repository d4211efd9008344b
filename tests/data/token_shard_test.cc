#include "data/token_shard.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::vector<std::vector<int32_t>> SampleDocs(int32_t max_id) {
  return {{1, 2, 3}, {}, {max_id - 1, 0, 7, 7}, {42}};
}

std::string WriteShard(const testing::TempDir& tmp, uint64_t vocab, const std::vector<std::vector<int32_t>>& docs,
                       const std::string& name = "s.tok") {
  std::string path = tmp.file(name);
  auto w = TokenShardWriter::Create(path, vocab);
  EXPECT_TRUE(w.ok()) << w.status();
  for (const auto& d : docs) EXPECT_TRUE((*w)->AddDocument(d).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return path;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(TokenShardTest, RoundTripUint16AndUint32) {
  for (uint64_t vocab : {uint64_t{65536}, uint64_t{128256}}) {
    testing::TempDir tmp;
    auto docs = SampleDocs(static_cast<int32_t>(vocab));
    std::string path = WriteShard(tmp, vocab, docs);
    auto shard = TokenShard::Open(path);
    ASSERT_TRUE(shard.ok()) << shard.status();
    EXPECT_EQ((*shard)->token_bytes(), vocab == 65536 ? 2u : 4u);
    EXPECT_EQ((*shard)->vocab_size(), vocab);
    EXPECT_EQ((*shard)->num_documents(), 4u);
    EXPECT_EQ((*shard)->num_tokens(), 8u);
    for (size_t d = 0; d < docs.size(); ++d) EXPECT_EQ((*shard)->Document(d), docs[d]) << d;
    EXPECT_EQ((*shard)->Token(3), static_cast<uint32_t>(vocab - 1));
    // Layout: header + tokens padded to 8 + 5 index entries.
    uint64_t tokens_end = 128 + 8 * (*shard)->token_bytes();
    EXPECT_EQ(fs::file_size(path), (tokens_end + 7) / 8 * 8 + 5 * 8);
  }
}

TEST(TokenShardTest, HeaderFieldsAtDocumentedOffsets) {
  testing::TempDir tmp;
  std::string bytes = ReadBytes(WriteShard(tmp, 1000, SampleDocs(1000)));
  EXPECT_EQ(bytes.substr(0, 8), "NMOETOKS");
  auto u32 = [&](size_t o) { uint32_t v; std::memcpy(&v, &bytes[o], 4); return v; };
  auto u64 = [&](size_t o) { uint64_t v; std::memcpy(&v, &bytes[o], 8); return v; };
  EXPECT_EQ(u32(8), 1u);
  EXPECT_EQ(u32(12), 2u);
  EXPECT_EQ(u64(16), 8u);
  EXPECT_EQ(u64(24), 4u);
  EXPECT_EQ(u64(32), 1000u);
  EXPECT_EQ(u64(40), 128u);
  EXPECT_EQ(u64(48), 144u);
  EXPECT_EQ(u64(56), bytes.size());
  EXPECT_EQ(Sha256Digest(std::string_view(bytes).substr(128)), bytes.substr(64, 32));
  EXPECT_EQ(u64(96), Fnv1a64(std::string_view(bytes).substr(0, 96)));
  uint16_t first;
  std::memcpy(&first, &bytes[128], 2);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(u64(144), 0u);  // index[0]
  EXPECT_EQ(u64(152), 3u);  // index[1]
  EXPECT_EQ(u64(176), 8u);  // index[4] = num_tokens
}

TEST(TokenShardTest, WriterRejectsOutOfRangeIds) {
  testing::TempDir tmp;
  auto w = TokenShardWriter::Create(tmp.file("x.tok"), 100);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->AddDocument(std::vector<int32_t>{1, 2}).ok());
  absl::Status s = (*w)->AddDocument(std::vector<int32_t>{5, 100});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("document 1 token 1 has id 100 outside [0, 100)"));
  EXPECT_EQ((*w)->AddDocument(std::vector<int32_t>{-1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TokenShardWriter::Create(tmp.file("y.tok"), 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenShardTest, UnfinishedWriterLeavesNoFile) {
  testing::TempDir tmp;
  {
    auto w = TokenShardWriter::Create(tmp.file("z.tok"), 100);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->AddDocument(std::vector<int32_t>{1}).ok());
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

struct Corruption {
  const char* name;
  std::function<void(std::string*)> apply;
  absl::StatusCode code;
  const char* message;
};

TEST(TokenShardTest, CorruptionGivesPreciseErrors) {
  const Corruption cases[] = {
      {"empty", [](std::string* b) { b->clear(); }, absl::StatusCode::kDataLoss, "truncated: 0 bytes"},
      {"header cut", [](std::string* b) { b->resize(100); }, absl::StatusCode::kDataLoss, "truncated: 100 bytes"},
      {"body cut", [](std::string* b) { b->resize(b->size() - 3); }, absl::StatusCode::kDataLoss,
       "truncated: the header says 184 bytes, the file has 181"},
      {"trailing", [](std::string* b) { *b += "xx"; }, absl::StatusCode::kDataLoss, "trailing bytes"},
      {"magic", [](std::string* b) { (*b)[0] = 'X'; }, absl::StatusCode::kDataLoss, "bad magic"},
      {"header bit", [](std::string* b) { (*b)[17] ^= 1; }, absl::StatusCode::kDataLoss, "header checksum mismatch"},
      {"token bit", [](std::string* b) { (*b)[130] ^= 1; }, absl::StatusCode::kDataLoss, "body SHA-256 mismatch"},
      {"index bit", [](std::string* b) { (*b)[b->size() - 8] ^= 1; }, absl::StatusCode::kDataLoss,
       "body SHA-256 mismatch"},
  };
  for (const Corruption& c : cases) {
    testing::TempDir tmp;
    std::string path = WriteShard(tmp, 1000, SampleDocs(1000));
    std::string bytes = ReadBytes(path);
    c.apply(&bytes);
    WriteBytes(path, bytes);
    auto shard = TokenShard::Open(path);
    EXPECT_EQ(shard.status().code(), c.code) << c.name << ": " << shard.status();
    EXPECT_THAT(std::string(shard.status().message()), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(std::string(shard.status().message()), HasSubstr(path)) << c.name;
  }
}

// A header that is self-consistent (checksum recomputed) but lies about the layout.
TEST(TokenShardTest, InconsistentButChecksummedHeader) {
  testing::TempDir tmp;
  std::string path = WriteShard(tmp, 1000, SampleDocs(1000));
  auto rewrite = [&](size_t offset, uint64_t value, size_t width) {
    std::string bytes = ReadBytes(path);
    std::memcpy(&bytes[offset], &value, width);
    uint64_t fnv = Fnv1a64(std::string_view(bytes).substr(0, 96));
    std::memcpy(&bytes[96], &fnv, 8);
    WriteBytes(path + ".bad", bytes);
    return TokenShard::Open(path + ".bad").status();
  };
  EXPECT_THAT(std::string(rewrite(16, 9, 8).message()), HasSubstr("inconsistent offsets"));
  EXPECT_THAT(std::string(rewrite(12, 3, 4).message()), HasSubstr("bytes per token 3"));
  EXPECT_THAT(std::string(rewrite(32, 70000, 8).message()), HasSubstr("does not fit 2-byte tokens"));
  EXPECT_EQ(rewrite(8, 2, 4).code(), absl::StatusCode::kUnimplemented);
  // Without checksum verification, a decreasing index is still caught.
  std::string bytes = ReadBytes(path);
  uint64_t big = 7;
  std::memcpy(&bytes[152], &big, 8);  // index[1] = 7 > index[2] = 3
  WriteBytes(path, bytes);
  auto shard = TokenShard::Open(path, /*verify_checksum=*/false);
  EXPECT_THAT(std::string(shard.status().message()), HasSubstr("document index decreases at document 1"));
  EXPECT_EQ(TokenShard::Open(tmp.file("nope.tok")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace nmoe::data
