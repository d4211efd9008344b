// safetensors reading and writing (torch-free): round trips, layout, writer validation.
#include "model/safetensors.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/model/safetensors_test_util.h"
#include "tests/support/temp_dir.h"

namespace nmoe::safetensors {
namespace {

using ::nmoe::safetensors::testing::AsBytes;
using ::nmoe::safetensors::testing::Image;
using ::nmoe::safetensors::testing::ReadBytes;
using ::nmoe::safetensors::testing::WriteBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::byte> Pattern(size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = std::byte((i * 131 + seed) & 0xff);
  return out;
}

TEST(DType, NamesSizesAndParsing) {
  EXPECT_STREQ(DTypeName(DType::kBF16), "BF16");
  EXPECT_STREQ(DTypeName(DType::kF8E4M3), "F8_E4M3");
  EXPECT_EQ(DTypeSize(DType::kBool), 1u);
  EXPECT_EQ(DTypeSize(DType::kF16), 2u);
  EXPECT_EQ(DTypeSize(DType::kU32), 4u);
  EXPECT_EQ(DTypeSize(DType::kI64), 8u);
  for (DType d : {DType::kBool, DType::kU8, DType::kI8, DType::kF8E5M2, DType::kF8E4M3,
                  DType::kI16, DType::kU16, DType::kF16, DType::kBF16, DType::kI32,
                  DType::kU32, DType::kF32, DType::kF64, DType::kI64, DType::kU64}) {
    EXPECT_EQ(ParseDType(DTypeName(d)), d) << DTypeName(d);
  }
  EXPECT_EQ(ParseDType("f32"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(ParseDType("F32 "), std::nullopt);
  EXPECT_EQ(ParseDType(""), std::nullopt);
}

TEST(Safetensors, RoundTripKeepsEverythingAndAligns) {
  nmoe::testing::TempDir dir;
  std::vector<std::byte> a = Pattern(3, 1), b = Pattern(2 * 3 * 4, 2), c = Pattern(5 * 2, 3),
                         d = Pattern(8, 4), s = Pattern(4, 5);
  std::vector<TensorView> views = {
      {"u8", DType::kU8, {3}, a},
      {"layers.0.w", DType::kF32, {2, 3}, b},
      {"bf", DType::kBF16, {5}, c},
      {"i64", DType::kI64, {1}, d},
      {"scalar", DType::kF32, {}, s},
      {"empty", DType::kF16, {0, 7}, {}},
  };
  std::string path = dir.file("t.safetensors");
  ASSERT_TRUE(WriteFile(path, views, {{"format", "pt"}, {"note", "héllo"}}).ok());

  absl::StatusOr<std::shared_ptr<const File>> file = File::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->tensors().size(), views.size());
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ((*file)->metadata().at("note"), "héllo");
  EXPECT_EQ((*file)->header_size() % 8, 0u);
  EXPECT_EQ((*file)->data_offset() % 8, 0u);
  EXPECT_EQ((*file)->file_size(), (*file)->data_offset() + 3 + 24 + 10 + 8 + 4);
  for (const TensorView& v : views) {
    const TensorInfo* info = (*file)->Find(v.name);
    ASSERT_NE(info, nullptr) << v.name;
    EXPECT_EQ(info->dtype, v.dtype);
    EXPECT_EQ(info->shape, v.shape);
    std::span<const std::byte> bytes = (*file)->Bytes(*info);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), v.data.begin(), v.data.end())) << v.name;
    // Every tensor starts aligned to its element size within the file.
    EXPECT_EQ(((*file)->data_offset() + info->data_begin) % DTypeSize(info->dtype), 0u) << v.name;
  }
  EXPECT_EQ((*file)->Find("absent"), nullptr);
  EXPECT_EQ((*file)->Find("scalar")->num_elements(), 1u);
  EXPECT_EQ((*file)->Find("empty")->num_bytes(), 0u);
  // Data order: largest element size first, then name.
  std::vector<std::string> order;
  for (const TensorInfo& t : (*file)->tensors()) order.push_back(t.name);
  EXPECT_THAT(order, ElementsAre("i64", "layers.0.w", "scalar", "bf", "empty", "u8"));
}

TEST(Safetensors, BytesRejectsForeignInfo) {
  nmoe::testing::TempDir dir;
  std::vector<std::byte> data = Pattern(4, 0);
  std::vector<TensorView> views = {{"w", DType::kF32, {1}, data}};
  ASSERT_TRUE(WriteFile(dir.file("a"), views).ok());
  auto file = File::Open(dir.file("a"));
  ASSERT_TRUE(file.ok());
  TensorInfo copy = *(*file)->Find("w");
  EXPECT_TRUE((*file)->Bytes(copy).empty());
  EXPECT_EQ((*file)->Bytes(*(*file)->Find("w")).size(), 4u);
}

TEST(Safetensors, NoTensorsIsAValidFile) {
  nmoe::testing::TempDir dir;
  ASSERT_TRUE(WriteFile(dir.file("e"), {}, {}).ok());
  auto file = File::Open(dir.file("e"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());
  EXPECT_EQ(ReadBytes(dir.file("e")).size(), 16u);  // 8 + "{}" padded to 8
}

TEST(Safetensors, ReadsHandBuiltHeaderWithPaddingAndAnyKeyOrder) {
  nmoe::testing::TempDir dir;
  std::string header =
      R"({"b":{"data_offsets":[4,6],"shape":[1],"dtype":"BF16"},)"
      R"( "a" : {"shape":[2,2],"dtype":"U8","data_offsets":[0,4]},"__metadata__":{}}   )";
  WriteBytes(dir.file("h"), Image(header, {1, 2, 3, 4, 0x80, 0x3f}));
  auto file = File::Open(dir.file("h"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ((*file)->tensors().size(), 2u);
  EXPECT_EQ((*file)->tensors()[0].name, "a");
  EXPECT_EQ((*file)->tensors()[1].name, "b");
  auto bytes = (*file)->Bytes((*file)->tensors()[1]);
  EXPECT_EQ(std::to_integer<int>(bytes[1]), 0x3f);
}

TEST(Safetensors, ReadsTheCommittedPythonReferenceFixture) {
  // Written by tests/model/safetensors_ref.py (an independent writer), unaligned on purpose.
  std::string source = std::getenv("NMOE_SOURCE_DIR") ? std::getenv("NMOE_SOURCE_DIR") : ".";
  auto file = File::Open(source + "/tests/model/fixtures/python_reference.safetensors");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->metadata().at("writer"), "python-reference");
  EXPECT_EQ((*file)->tensors().size(), 13u);
  const TensorInfo* bits = (*file)->Find("bf16_bits");
  ASSERT_NE(bits, nullptr);
  auto b = (*file)->Bytes(*bits);
  ASSERT_EQ(b.size(), 22u);
  // 0x3F80 (1.0) is the third pattern, little-endian.
  EXPECT_EQ(std::to_integer<int>(b[4]), 0x80);
  EXPECT_EQ(std::to_integer<int>(b[5]), 0x3f);
  const TensorInfo* u8 = (*file)->Find("u8");
  ASSERT_NE(u8, nullptr);
  EXPECT_EQ(u8->data_begin, 0u);
  EXPECT_THAT((*file)->Find("empty")->shape, ElementsAre(0, 4));
  EXPECT_TRUE((*file)->Find("scalar")->shape.empty());
}

TEST(Safetensors, OpenErrors) {
  nmoe::testing::TempDir dir;
  absl::StatusOr<std::shared_ptr<const File>> missing = File::Open(dir.file("nope"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir.file("nope")));
  absl::StatusOr<std::shared_ptr<const File>> folder = File::Open(dir.path().string());
  EXPECT_EQ(folder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(folder.status().message()), HasSubstr("not a regular file"));
  ASSERT_EQ(mkfifo(dir.file("fifo").c_str(), 0600), 0);  // must not block on open
  absl::StatusOr<std::shared_ptr<const File>> fifo = File::Open(dir.file("fifo"));
  EXPECT_THAT(std::string(fifo.status().message()), HasSubstr("not a regular file"));
}

TEST(SafetensorsWriter, RejectsBadTensorsAndWritesNothing) {
  nmoe::testing::TempDir dir;
  std::vector<std::byte> four = Pattern(4, 0);
  struct Case {
    std::vector<TensorView> views;
    std::string fragment;
  };
  std::string bad_utf8 = "w\xff";
  std::vector<Case> cases = {
      {{{"w", DType::kF32, {1}, four}, {"w", DType::kF32, {1}, four}}, "duplicate tensor name 'w'"},
      {{{"", DType::kF32, {1}, four}}, "empty name"},
      {{{"__metadata__", DType::kF32, {1}, four}}, "'__metadata__' is reserved"},
      {{{"w", DType::kF32, {2}, four}}, "tensor 'w': F32 [2] needs 8 bytes, got 4"},
      {{{"w", DType::kF32, {-1, 1}, four}}, "tensor 'w': negative dimension in shape [-1, 1]"},
      {{{"w", DType::kF32, {INT64_MAX, 4}, four}}, "tensor 'w': element count overflows"},
      {{{"w", DType::kF64, {INT64_MAX}, four}}, "tensor 'w': byte size overflows"},
      {{{bad_utf8, DType::kU8, {4}, four}}, "name is not valid UTF-8"},
  };
  std::string path = dir.file("out.safetensors");
  for (const Case& c : cases) {
    absl::Status s = WriteFile(path, c.views);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.fragment;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.fragment));
    EXPECT_THAT(std::string(s.message()), HasSubstr(path));
  }
  absl::Status meta = WriteFile(path, {}, {{"k", "\xc3"}});
  EXPECT_THAT(std::string(meta.message()), HasSubstr("metadata entry 'k' is not valid UTF-8"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // no file, no temp file left
}

TEST(SafetensorsWriter, ReplacesAtomicallyAndLeavesNoTempFiles) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("m.safetensors");
  std::vector<std::byte> one = Pattern(4, 1), two = Pattern(8, 2);
  std::vector<TensorView> first = {{"a", DType::kF32, {1}, one}};
  std::vector<TensorView> second = {{"b", DType::kF32, {2}, two}};
  ASSERT_TRUE(WriteFile(path, first).ok());
  auto before = File::Open(path);  // keeps the old mapping alive across the replace
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(WriteFile(path, second).ok());
  auto after = File::Open(path);
  ASSERT_TRUE(after.ok());
  EXPECT_NE((*after)->Find("b"), nullptr);
  EXPECT_EQ((*after)->Find("a"), nullptr);
  // The old mapping still reads the old bytes (rename, not overwrite in place).
  auto old_bytes = (*before)->Bytes(*(*before)->Find("a"));
  EXPECT_TRUE(std::equal(old_bytes.begin(), old_bytes.end(), one.begin(), one.end()));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(e.path().filename(), "m.safetensors");
  }
  EXPECT_EQ(files, 1);
  // Writing into a missing folder fails cleanly.
  absl::Status s = WriteFile(dir.file("no/such/dir/x.safetensors"), first);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("x.safetensors"));
}

TEST(SafetensorsWriter, HeaderIsTheDocumentedJson) {
  nmoe::testing::TempDir dir;
  std::vector<std::byte> data = Pattern(6, 3);
  std::vector<TensorView> views = {{"w", DType::kI16, {3}, data}};
  ASSERT_TRUE(WriteFile(dir.file("x"), views, {{"format", "pt"}}).ok());
  std::vector<std::byte> image = ReadBytes(dir.file("x"));
  std::string text(reinterpret_cast<const char*>(image.data()) + 8, image.size() - 8 - 6);
  EXPECT_EQ(text,
            R"({"__metadata__":{"format":"pt"},"w":{"dtype":"I16","shape":[3],)"
            R"("data_offsets":[0,6]}}   )");  // 85 bytes + 3 spaces
  EXPECT_EQ(std::to_integer<int>(image[0]), static_cast<int>(text.size()));
}

}  // namespace
}  // namespace nmoe::safetensors
