// Corrupt and hostile safetensors files: each variant gets its precise error, through
// ParseFileImage and through File::Open (the mapped path); random mutations never crash.
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/safetensors.h"
#include "tests/model/safetensors_test_util.h"
#include "tests/support/temp_dir.h"

namespace nmoe::safetensors {
namespace {

using ::nmoe::safetensors::testing::Image;
using ::nmoe::safetensors::testing::WriteBytes;
using ::nmoe::safetensors::testing::Zeros;
using ::testing::HasSubstr;

// A valid two-tensor header: "a" F32 [2] at [0, 8], "b" U8 [3] at [8, 11].
const char kA[] = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const char kB[] = R"("b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]})";

std::string Obj(const std::string& body) { return "{" + body + "}"; }
std::string WithA(const std::string& entry) { return Obj(std::string(kA) + "," + entry); }
// Entry for tensor "t" at the end of "a" (offset 8).
std::string T(const std::string& fields) { return WithA(R"("t":{)" + fields + "}"); }

struct Case {
  std::string name;
  std::vector<std::byte> image;
  std::string fragment;
};

std::vector<Case> Cases() {
  std::string valid = Obj(std::string(kA) + "," + kB);
  std::string deep = std::string(20, '[') + std::string(20, ']');
  std::vector<Case> c = {
      // Length prefix and header bounds.
      {"empty file", {}, "file is 0 bytes, shorter than the 8-byte header length"},
      {"seven bytes", std::vector<std::byte>(7), "file is 7 bytes, shorter than the 8-byte"},
      {"huge header length", Image(valid, Zeros(11), int64_t{1} << 62),
       "header length 4611686018427387904 exceeds the 100000000-byte limit"},
      {"header length just over the cap", Image(valid, Zeros(11), 100'000'001),
       "header length 100000001 exceeds the 100000000-byte limit"},
      {"header length past the file", Image(valid, Zeros(11), valid.size() + 12),
       "runs past the end of the file"},
      {"header length zero", Image("", {}), "header does not start with '{'"},
      {"header length one short", Image(valid, Zeros(11), valid.size() - 1), "invalid JSON"},
      {"header length one long", Image(valid, {0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                       valid.size() + 1), "invalid JSON"},
      // JSON.
      {"leading space", Image(" " + valid, Zeros(11)), "header does not start with '{'"},
      {"array header", Image("[]", {}), "header does not start with '{'"},
      {"truncated JSON", Image(R"({"a":{"dtype":)", {}), "invalid JSON"},
      {"trailing garbage", Image(valid + " x", Zeros(11)), "invalid JSON"},
      {"NUL padding", Image(valid + std::string(3, '\0'), Zeros(11)),
       "invalid JSON: NUL byte at offset 107"},
      {"text hidden after a NUL", Image(valid + std::string(1, '\0') + "hidden", Zeros(11)),
       "invalid JSON: NUL byte"},
      {"invalid UTF-8 name", Image(WithA("\"b\xff\":1"), Zeros(8)), "ill-formed UTF-8"},
      {"duplicate tensor name", Image(Obj(std::string(kA) + "," + kA), Zeros(8)),
       "duplicate key 'a'"},
      {"duplicate field", Image(T(R"("dtype":"U8","dtype":"F32","shape":[],"data_offsets":[8,9])"),
                                Zeros(9)), "duplicate key 'dtype' inside 't'"},
      {"deep nesting", Image(Obj(R"("__metadata__":)" + deep), {}), "nested deeper than 16"},
      // __metadata__.
      {"metadata not an object", Image(R"({"__metadata__":["x"]})", {}),
       "__metadata__ must be an object of strings"},
      {"metadata null", Image(R"({"__metadata__":null})", {}), "__metadata__ must be an object"},
      {"metadata value not a string", Image(R"({"__metadata__":{"k":1}})", {}),
       "__metadata__ key 'k' has a non-string value 1"},
      // Tensor entries.
      {"entry not an object", Image(WithA(R"("t":[1])"), Zeros(8)),
       "tensor 't': entry must be an object"},
      {"unknown field", Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[8,9],"offsets":1)"),
                              Zeros(9)), "tensor 't': unknown field 'offsets'"},
      {"missing dtype", Image(T(R"("shape":[1],"data_offsets":[8,9])"), Zeros(9)),
       "tensor 't': missing field 'dtype'"},
      {"missing shape", Image(T(R"("dtype":"U8","data_offsets":[8,9])"), Zeros(9)),
       "tensor 't': missing field 'shape'"},
      {"missing offsets", Image(T(R"("dtype":"U8","shape":[1])"), Zeros(9)),
       "tensor 't': missing field 'data_offsets'"},
      {"dtype not a string", Image(T(R"("dtype":4,"shape":[1],"data_offsets":[8,9])"), Zeros(9)),
       "tensor 't': dtype must be a string, got 4"},
      {"unknown dtype", Image(T(R"("dtype":"F7","shape":[1],"data_offsets":[8,9])"), Zeros(9)),
       "tensor 't': unknown dtype \"F7\""},
      {"lower-case dtype", Image(T(R"("dtype":"f32","shape":[1],"data_offsets":[8,12])"),
                                 Zeros(12)), "tensor 't': unknown dtype \"f32\""},
      {"shape not a list", Image(T(R"("dtype":"U8","shape":3,"data_offsets":[8,11])"), Zeros(11)),
       "tensor 't': shape must be a list of integers, got 3"},
      {"negative dim", Image(T(R"("dtype":"U8","shape":[2,-1],"data_offsets":[8,8])"), Zeros(8)),
       "tensor 't': shape [2,-1] has a negative dimension"},
      {"float dim", Image(T(R"("dtype":"U8","shape":[2.0],"data_offsets":[8,10])"), Zeros(10)),
       "tensor 't': shape [2.0] has a dimension that is not an integer in [0, 2^63)"},
      {"string dim", Image(T(R"("dtype":"U8","shape":["2"],"data_offsets":[8,10])"), Zeros(10)),
       "has a dimension that is not an integer"},
      {"dim over int64", Image(T(R"("dtype":"U8","shape":[9223372036854775808],"data_offsets":[8,8])"),
                               Zeros(8)), "has a dimension that is not an integer in [0, 2^63)"},
      {"dim over uint64", Image(T(R"("dtype":"U8","shape":[99999999999999999999],"data_offsets":[8,8])"),
                                Zeros(8)), "has a dimension that is not an integer"},
      {"element count overflow",
       Image(T(R"("dtype":"U8","shape":[4611686018427387904,4],"data_offsets":[8,8])"), Zeros(8)),
       "tensor 't': shape [4611686018427387904, 4] has 2^64 or more elements"},
      {"byte size overflow",
       Image(T(R"("dtype":"F64","shape":[4611686018427387904],"data_offsets":[8,8])"), Zeros(8)),
       "tensor 't': shape [4611686018427387904] of F64 needs 2^64 or more bytes"},
      {"offsets not a pair", Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[8])"), Zeros(9)),
       "tensor 't': data_offsets must be two non-negative integers, got [8]"},
      {"offsets triple", Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[8,9,10])"), Zeros(9)),
       "data_offsets must be two non-negative integers"},
      {"negative offset", Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[-1,0])"), Zeros(9)),
       "data_offsets must be two non-negative integers, got [-1,0]"},
      {"float offset", Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[8.0,9])"), Zeros(9)),
       "data_offsets must be two non-negative integers"},
      {"end before begin", Image(T(R"("dtype":"U8","shape":[0],"data_offsets":[9,8])"), Zeros(9)),
       "tensor 't': data_offsets [9, 8] end before they begin"},
      {"size mismatch", Image(T(R"("dtype":"F32","shape":[3],"data_offsets":[8,16])"), Zeros(16)),
       "tensor 't': data_offsets [8, 16] hold 8 bytes but F32 [3] needs 12"},
      {"offsets past the data (truncated)",
       Image(T(R"("dtype":"U8","shape":[4],"data_offsets":[8,12])"), Zeros(10)),
       "tensor 't': data_offsets [8, 12] extend past the data section (10 bytes): truncated"},
      {"offsets near 2^64", Image(T(R"("dtype":"U8","shape":[1],)"
                                    R"("data_offsets":[18446744073709551614,18446744073709551615])"),
                                  Zeros(9)), "extend past the data section"},
      // Tiling of the data section.
      {"overlap", Image(WithA(R"("t":{"dtype":"U8","shape":[4],"data_offsets":[6,10]})"), Zeros(10)),
       "tensor 't': data_offsets [6, 10] overlap tensor 'a' [0, 8]"},
      {"same range twice", Image(WithA(R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
                                 Zeros(8)), "overlap tensor 'a' [0, 8]"},
      {"empty tensor inside another",
       Image(WithA(R"("t":{"dtype":"U8","shape":[0],"data_offsets":[4,4]})"), Zeros(8)),
       "tensor 't': data_offsets [4, 4] overlap tensor 'a' [0, 8]"},
      {"hole", Image(WithA(R"("t":{"dtype":"U8","shape":[2],"data_offsets":[10,12]})"), Zeros(12)),
       "tensor 't': data_offsets [10, 12] leave bytes [8, 10) of the data section unused"},
      {"hole at the start", Image(R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                                  Zeros(4)), "leave bytes [0, 2) of the data section unused"},
      {"trailing bytes", Image(valid, Zeros(13)),
       "2 bytes after the last tensor's data (data section [11, 13) unused)"},
      {"data but no tensors", Image("{}", Zeros(3)), "3 bytes after the last tensor's data"},
  };
  return c;
}

TEST(SafetensorsCorrupt, EachVariantGetsItsPreciseError) {
  nmoe::testing::TempDir dir;
  for (const Case& c : Cases()) {
    absl::StatusOr<ParsedHeader> parsed = ParseFileImage(c.image, "img");
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.fragment)) << c.name;
    EXPECT_THAT(std::string(parsed.status().message()), ::testing::StartsWith("img: ")) << c.name;
    // The same through the mapped path, with the file's path in the message.
    std::string path = dir.file("corrupt.safetensors");
    WriteBytes(path, c.image);
    absl::StatusOr<std::shared_ptr<const File>> file = File::Open(path);
    ASSERT_FALSE(file.ok()) << c.name;
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(c.fragment)) << c.name;
    EXPECT_THAT(std::string(file.status().message()), ::testing::StartsWith(path + ": ")) << c.name;
  }
}

TEST(SafetensorsCorrupt, TheBaseOfTheTableIsValid) {
  std::string valid = Obj(std::string(kA) + "," + kB);
  absl::StatusOr<ParsedHeader> parsed = ParseFileImage(Image(valid, Zeros(11)), "img");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->tensors.size(), 2u);
  // And the base entry of T(...) with a consistent "t" is valid too.
  auto t = ParseFileImage(Image(T(R"("dtype":"U8","shape":[1],"data_offsets":[8,9])"), Zeros(9)),
                          "img");
  EXPECT_TRUE(t.ok()) << t.status();
}

TEST(SafetensorsCorrupt, TruncationAtEveryByteIsDetected) {
  std::string valid = Obj(std::string(R"("__metadata__":{"format":"pt"},)") + kA + "," + kB);
  std::vector<std::byte> full = Image(valid, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  ASSERT_TRUE(ParseFileImage(full, "img").ok());
  size_t header_end = 8 + valid.size();
  for (size_t n = 0; n < full.size(); ++n) {
    std::span<const std::byte> prefix(full.data(), n);
    absl::StatusOr<ParsedHeader> parsed = ParseFileImage(prefix, "img");
    ASSERT_FALSE(parsed.ok()) << "prefix " << n;
    std::string want = n < 8             ? "shorter than the 8-byte header length"
                       : n < header_end  ? "runs past the end of the file"
                       : n == header_end ? "tensor 'a': data_offsets [0, 8] extend past"
                       : n < 8 + header_end ? "tensor 'a': data_offsets [0, 8] extend past"
                                            : "tensor 'b': data_offsets [8, 11] extend past";
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(want)) << "prefix " << n;
  }
}

// Random damage to a valid file: every result is an error or a file whose tensors tile
// the data section; nothing crashes (run under ASan/UBSan for the full guarantee).
TEST(SafetensorsCorrupt, RandomMutationsNeverCrash) {
  std::string valid = Obj(std::string(R"("__metadata__":{"format":"pt","k":"v"},)") + kA + "," +
                          kB + R"(,"c":{"dtype":"BF16","shape":[2,0],"data_offsets":[11,11]})");
  std::vector<std::byte> base = Image(valid, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  std::mt19937 rng(1234);
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<std::byte> image = base;
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % image.size();
      switch (rng() % 5) {
        case 0: image[at] = std::byte(rng() & 0xff); break;                        // overwrite
        case 1: image[at] ^= std::byte(1u << (rng() % 8)); break;                  // bit flip
        case 2: image.resize(at); break;                                            // truncate
        case 3: image.insert(image.begin() + at, std::byte(rng() & 0xff)); break;  // insert
        case 4: image[at] = std::byte("0123456789[]{},:\"-e. "[rng() % 21]); break; // JSON-ish
      }
      if (image.empty()) break;
    }
    absl::StatusOr<ParsedHeader> parsed = ParseFileImage(image, "fuzz");
    if (!parsed.ok()) {
      EXPECT_THAT(std::string(parsed.status().message()), ::testing::StartsWith("fuzz: "));
      continue;
    }
    ++accepted;
    uint64_t cursor = 0, data_size = image.size() - 8 - parsed->header_size;
    for (const TensorInfo& t : parsed->tensors) {
      ASSERT_EQ(t.data_begin, cursor);
      ASSERT_EQ(t.num_bytes(), t.num_elements() * DTypeSize(t.dtype));
      cursor = t.data_end;
    }
    ASSERT_EQ(cursor, data_size);
  }
  // Some mutations keep the file valid (e.g. inside data bytes): the check above ran.
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace nmoe::safetensors
