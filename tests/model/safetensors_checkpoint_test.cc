// Checkpoint folders: WriteSharded's Hugging Face layout and Checkpoint::Open's checks of
// index files against their shards.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/checkpoint_index.h"
#include "tests/model/safetensors_test_util.h"
#include "tests/support/temp_dir.h"

namespace nmoe::safetensors {
namespace {

namespace fs = std::filesystem;
using ::nmoe::safetensors::testing::Image;
using ::nmoe::safetensors::testing::WriteBytes;
using ::nmoe::safetensors::testing::Zeros;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// Five F32 tensors of 16, 16, 40, 8 and 16 bytes.
class ShardedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<std::pair<std::string, int64_t>> spec = {
        {"embed", 4}, {"l0.q", 4}, {"l0.big", 10}, {"l1.q", 2}, {"norm", 4}};
    storage_.resize(spec.size());
    for (size_t i = 0; i < spec.size(); ++i) {
      storage_[i].resize(spec[i].second * 4);
      for (size_t j = 0; j < storage_[i].size(); ++j) storage_[i][j] = std::byte(i * 16 + j);
      views_.push_back({spec[i].first, DType::kF32, {spec[i].second}, storage_[i]});
    }
  }

  void ExpectAllTensors(const Checkpoint& ckpt) {
    ASSERT_EQ(ckpt.entries().size(), views_.size());
    for (const TensorView& v : views_) {
      const Checkpoint::Entry* e = ckpt.Find(v.name);
      ASSERT_NE(e, nullptr) << v.name;
      auto bytes = e->file->Bytes(*e->info);
      EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), v.data.begin(), v.data.end())) << v.name;
    }
  }

  nmoe::testing::TempDir dir_;
  std::vector<std::vector<std::byte>> storage_;
  std::vector<TensorView> views_;
};

TEST_F(ShardedTest, FitsInOneFile) {
  std::string out = dir_.file("ckpt");
  ASSERT_TRUE(WriteSharded(out, views_, 1000, {{"step", "7"}}).ok());
  EXPECT_THAT(Listing(out), ElementsAre("model.safetensors"));
  auto ckpt = Checkpoint::Open(out);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_FALSE((*ckpt)->sharded());
  EXPECT_EQ((*ckpt)->files().size(), 1u);
  EXPECT_EQ((*ckpt)->files()[0]->metadata().at("format"), "pt");  // transformers needs it
  EXPECT_EQ((*ckpt)->files()[0]->metadata().at("step"), "7");
  ExpectAllTensors(**ckpt);
  EXPECT_EQ((*ckpt)->Find("nope"), nullptr);
}

TEST_F(ShardedTest, ShardsGreedilyLikeHuggingFace) {
  std::string out = dir_.file("ckpt");
  // Limit 32: [embed 16, l0.q 16] [l0.big 40 alone, over the limit] [l1.q 8, norm 16].
  ASSERT_TRUE(WriteSharded(out, views_, 32).ok());
  EXPECT_THAT(Listing(out), ElementsAre("model-00001-of-00003.safetensors",
                                        "model-00002-of-00003.safetensors",
                                        "model-00003-of-00003.safetensors",
                                        "model.safetensors.index.json"));
  std::ifstream in(out + "/model.safetensors.index.json");
  nlohmann::json index = nlohmann::json::parse(in);
  EXPECT_EQ(index["metadata"]["total_size"], 96);
  EXPECT_EQ(index["weight_map"],
            nlohmann::json({{"embed", "model-00001-of-00003.safetensors"},
                            {"l0.q", "model-00001-of-00003.safetensors"},
                            {"l0.big", "model-00002-of-00003.safetensors"},
                            {"l1.q", "model-00003-of-00003.safetensors"},
                            {"norm", "model-00003-of-00003.safetensors"}}));
  for (const std::string& path : {out, out + "/model.safetensors.index.json"}) {
    auto ckpt = Checkpoint::Open(path);
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    EXPECT_TRUE((*ckpt)->sharded());
    EXPECT_EQ((*ckpt)->files().size(), 3u);
    EXPECT_EQ((*ckpt)->index_metadata().at("total_size"), "96");
    ExpectAllTensors(**ckpt);
  }
  // A shard opened on its own is a valid single-file checkpoint.
  auto shard = Checkpoint::Open(out + "/model-00002-of-00003.safetensors");
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ((*shard)->entries().size(), 1u);
}

TEST_F(ShardedTest, RewritingRemovesStaleWeightsOnly) {
  std::string out = dir_.file("ckpt");
  fs::create_directories(out);
  WriteText(out + "/config.json", "{}");
  WriteText(out + "/tokenizer.json", "{}");
  WriteText(out + "/model-00007-of-00009.safetensors", "stale");
  ASSERT_TRUE(WriteSharded(out, views_, 32).ok());
  EXPECT_THAT(Listing(out), ElementsAre("config.json", "model-00001-of-00003.safetensors",
                                        "model-00002-of-00003.safetensors",
                                        "model-00003-of-00003.safetensors",
                                        "model.safetensors.index.json", "tokenizer.json"));
  ASSERT_TRUE(WriteSharded(out, views_, 1 << 20).ok());
  EXPECT_THAT(Listing(out), ElementsAre("config.json", "model.safetensors", "tokenizer.json"));
  ASSERT_TRUE(WriteSharded(out, views_, 40).ok());
  EXPECT_THAT(Listing(out), ElementsAre("config.json", "model-00001-of-00003.safetensors",
                                        "model-00002-of-00003.safetensors",
                                        "model-00003-of-00003.safetensors",
                                        "model.safetensors.index.json", "tokenizer.json"));
  auto ckpt = Checkpoint::Open(out);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ExpectAllTensors(**ckpt);
}

TEST_F(ShardedTest, RejectsBadInputBeforeWritingAnything) {
  std::string out = dir_.file("ckpt");
  std::vector<TensorView> dup = views_;
  dup.push_back(views_[0]);
  absl::Status s = WriteSharded(out, dup, 32);
  EXPECT_THAT(std::string(s.message()), HasSubstr("duplicate tensor name 'embed'"));
  EXPECT_FALSE(fs::exists(out));
  EXPECT_THAT(std::string(WriteSharded(out, views_, 0).message()), HasSubstr("max_shard_bytes is 0"));
  EXPECT_EQ(ShardFileName(2, 11), "model-00002-of-00011.safetensors");
}

// A hand-made sharded folder: shard s1 holds "a" and "b", shard s2 holds "c".
class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteShard("s1.safetensors", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                 R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
               3);
    WriteShard("s2.safetensors", R"({"c":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1);
  }
  void WriteShard(const std::string& name, const std::string& header, size_t data) {
    WriteBytes(dir_.file(name), Image(header, Zeros(data)));
  }
  absl::Status OpenWithIndex(const std::string& index) {
    WriteText(dir_.file("model.safetensors.index.json"), index);
    return Checkpoint::Open(dir_.path().string()).status();
  }
  std::string Map(const std::string& entries) { return R"({"weight_map":{)" + entries + "}}"; }

  nmoe::testing::TempDir dir_;
};

const char kGoodMap[] = R"("a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors")";

TEST_F(IndexTest, ValidIndexOpens) {
  ASSERT_TRUE(OpenWithIndex(Map(kGoodMap)).ok());
  auto ckpt = Checkpoint::Open(dir_.path().string());
  ASSERT_TRUE(ckpt.ok());
  EXPECT_EQ((*ckpt)->Find("c")->file->path(), dir_.file("s2.safetensors"));
  // Extra metadata keys are kept; unknown top-level keys are ignored.
  std::string with_meta = R"({"metadata":{"total_size":6,"format":"pt"},"extra":1,"weight_map":{)" +
                          std::string(kGoodMap) + "}}";
  ASSERT_TRUE(OpenWithIndex(with_meta).ok());
}

TEST_F(IndexTest, EachBrokenIndexGetsItsPreciseError) {
  struct Case {
    std::string index;
    absl::StatusCode code;
    std::string fragment;
  };
  const std::string kShard1 = R"("a":"s1.safetensors","b":"s1.safetensors")";
  std::vector<Case> cases = {
      {"{", absl::StatusCode::kInvalidArgument, "invalid JSON"},
      {"[]", absl::StatusCode::kInvalidArgument, "not a JSON object"},
      {"{}", absl::StatusCode::kInvalidArgument, "no \"weight_map\""},
      {R"({"weight_map":[]})", absl::StatusCode::kInvalidArgument,
       "\"weight_map\" must be an object, got []"},
      {R"({"weight_map":{}})", absl::StatusCode::kInvalidArgument, "\"weight_map\" is empty"},
      {Map(R"("a":3)"), absl::StatusCode::kInvalidArgument, "tensor 'a' maps to 3, not a file name"},
      {Map(R"("a":"s1.safetensors","a":"s2.safetensors")"), absl::StatusCode::kInvalidArgument,
       "duplicate key 'a' inside 'weight_map'"},
      {Map(R"("a":"../s1.safetensors")"), absl::StatusCode::kInvalidArgument,
       "tensor 'a' maps to '../s1.safetensors', which is not a plain file name"},
      {Map(R"("a":"/etc/s1.safetensors")"), absl::StatusCode::kInvalidArgument,
       "which is not a plain file name"},
      {Map(R"("a":"sub\\s1.safetensors")"), absl::StatusCode::kInvalidArgument,
       "which is not a plain file name"},
      {Map(R"("a":"..")"), absl::StatusCode::kInvalidArgument, "which is not a plain file name"},
      {Map(R"("a":"")"), absl::StatusCode::kInvalidArgument, "which is not a plain file name"},
      {Map(R"("a":"s1.bin")"), absl::StatusCode::kInvalidArgument,
       "maps to 's1.bin', which does not end in .safetensors"},
      {Map(kShard1 + R"(,"c":"s3.safetensors")"), absl::StatusCode::kNotFound,
       "shard 's3.safetensors': cannot open"},
      {Map(kShard1 + R"(,"c":"s2.safetensors","d":"s2.safetensors")"),
       absl::StatusCode::kInvalidArgument,
       "tensor 'd' is listed in shard 's2.safetensors' but that shard does not hold it"},
      {Map(R"("a":"s1.safetensors","c":"s2.safetensors")"), absl::StatusCode::kInvalidArgument,
       "shard 's1.safetensors' holds tensor 'b', which the index does not list"},
      {R"({"metadata":{"total_size":-1},"weight_map":{)" + std::string(kGoodMap) + "}}",
       absl::StatusCode::kInvalidArgument, "metadata.total_size must be a non-negative integer"},
      {R"({"metadata":{"total_size":"6"},"weight_map":{)" + std::string(kGoodMap) + "}}",
       absl::StatusCode::kInvalidArgument, "metadata.total_size must be a non-negative integer"},
      {R"({"metadata":[],"weight_map":{)" + std::string(kGoodMap) + "}}",
       absl::StatusCode::kInvalidArgument, "\"metadata\" must be an object"},
      {R"({"metadata":{"x":{}},"weight_map":{)" + std::string(kGoodMap) + "}}",
       absl::StatusCode::kInvalidArgument, "metadata.x must be a scalar"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    absl::Status s = OpenWithIndex(c.index);
    EXPECT_EQ(s.code(), c.code) << c.index << "\n" << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.fragment)) << c.index;
    EXPECT_THAT(std::string(s.message()), HasSubstr("model.safetensors.index.json")) << c.index;
  }
}

TEST_F(IndexTest, TensorInTwoShards) {
  WriteShard("s2.safetensors", R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("c":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
             2);
  absl::Status s = OpenWithIndex(Map(kGoodMap));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("tensor 'b' is in shard 's2.safetensors' and in shard 's1.safetensors'"));
}

TEST_F(IndexTest, CorruptShardErrorNamesShardAndTensor) {
  WriteShard("s2.safetensors", R"({"c":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 1);
  absl::Status s = OpenWithIndex(Map(kGoodMap));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("shard 's2.safetensors'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("tensor 'c': data_offsets [0, 2] extend past"));
}

TEST_F(IndexTest, FolderResolution) {
  // Neither file: NOT_FOUND naming both names.
  absl::Status none = Checkpoint::Open(dir_.path().string()).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.message()), HasSubstr("no model.safetensors or model.safetensors.index.json"));
  EXPECT_EQ(Checkpoint::Open(dir_.file("missing")).status().code(), absl::StatusCode::kNotFound);
  // Both: ambiguous.
  ASSERT_TRUE(OpenWithIndex(Map(kGoodMap)).ok());
  fs::copy_file(dir_.file("s1.safetensors"), dir_.file("model.safetensors"));
  absl::Status both = Checkpoint::Open(dir_.path().string()).status();
  EXPECT_THAT(std::string(both.message()), HasSubstr("holds both model.safetensors and "
                                        "model.safetensors.index.json: ambiguous"));
  // A file path is read as that file.
  auto single = Checkpoint::Open(dir_.file("model.safetensors"));
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ((*single)->entries().size(), 2u);
}

}  // namespace
}  // namespace nmoe::safetensors
