// The torch adapter: dtype mapping, zero-copy and copied loads, conversion, shape checks,
// saving, and interoperability with an independent Python reader/writer
// (tests/model/safetensors_ref.py, run with Debian's /usr/bin/python3).
#include "model/tensor_io.h"

#include <stdio.h>
#include <sys/wait.h>
#include <torch/types.h>

#include <cstring>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/model/safetensors_test_util.h"
#include "tests/support/temp_dir.h"

namespace nmoe::model {
namespace {

namespace st = ::nmoe::safetensors;
using ::testing::HasSubstr;

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// Same dtype, same shape, same bytes (NaN payloads and -0 included).
::testing::AssertionResult SameBits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) {
    return ::testing::AssertionFailure() << a.toString() << a.sizes() << " vs " << b.toString()
                                         << b.sizes();
  }
  at::Tensor x = a.contiguous(), y = b.contiguous();
  size_t n = x.numel() * x.element_size();
  if (n > 0 && std::memcmp(x.data_ptr(), y.data_ptr(), n) != 0) {
    return ::testing::AssertionFailure() << "bytes differ";
  }
  return ::testing::AssertionSuccess();
}

// The tensors tests/model/safetensors_ref.py's expected_tensors() defines, built here
// independently: value_i = ((i * 37 + seed) % 255 - 127) / 8.
at::Tensor Pattern(int64_t n, int64_t seed) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>((i * 37 + seed) % 255 - 127) / 8.0;
  return at::tensor(v, at::kDouble);
}

const std::vector<int16_t> kBf16Bits = {0x0000, int16_t(0x8000), 0x3F80, int16_t(0xBF80),
                                        0x4049, 0x7F80, int16_t(0xFF80), 0x7FC0,
                                        0x7F7F, 0x0001, 0x0080};

NamedTensors ExpectedTensors() {
  auto ints = [](std::vector<int64_t> v, at::ScalarType t) { return at::tensor(v, at::kLong).to(t); };
  return {
      {"f32", Pattern(15, 1).to(at::kFloat).reshape({3, 5})},
      {"f64", Pattern(6, 2).reshape({2, 3})},
      {"f16", Pattern(7, 3).to(at::kHalf)},
      {"bf16", Pattern(12, 4).to(at::kFloat).to(at::kBFloat16).reshape({4, 3})},
      {"bf16_bits", at::tensor(kBf16Bits, at::kShort).view(at::kBFloat16)},
      {"i64", ints({-(int64_t{1} << 62), -1, 0, 1, int64_t{1} << 62}, at::kLong)},
      {"i32", ints({INT32_MIN, -7, 7, INT32_MAX}, at::kInt).reshape({2, 2})},
      {"i16", ints({-32768, 0, 32767}, at::kShort)},
      {"i8", ints({-128, -1, 1, 127}, at::kChar)},
      {"u8", ints({0, 128, 255}, at::kByte)},
      {"mask", ints({1, 0, 0, 1}, at::kBool).reshape({2, 2})},
      {"scalar", at::scalar_tensor(2.5, at::kFloat)},
      {"empty", at::empty({0, 4}, at::kFloat)},
  };
}

void ExpectAllMatch(const std::map<std::string, at::Tensor>& loaded) {
  NamedTensors expected = ExpectedTensors();
  EXPECT_EQ(loaded.size(), expected.size());
  for (const auto& [name, want] : expected) {
    auto it = loaded.find(name);
    ASSERT_NE(it, loaded.end()) << name;
    EXPECT_TRUE(SameBits(it->second, want)) << name;
  }
}

// Runs the Python reference on COMMAND PATH pairs; returns its exit status and, per
// pair, the output of that command ("OK" last when it found no problem).
struct ReferenceRun {
  int status = -1;
  std::vector<std::string> sections;
  std::string output;
};
ReferenceRun RunReference(const std::vector<std::pair<std::string, std::string>>& commands) {
  std::string line = "/usr/bin/python3 " + SourceDir() + "/tests/model/safetensors_ref.py";
  for (const auto& [command, path] : commands) line += " " + command + " '" + path + "'";
  ReferenceRun run;
  FILE* pipe = popen((line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) run.output.append(buffer, n);
  int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (size_t at = run.output.find("== "); at != std::string::npos;) {
    size_t next = run.output.find("\n== ", at);
    run.sections.push_back(run.output.substr(at, next == std::string::npos ? next : next + 1 - at));
    at = next == std::string::npos ? next : next + 1;
  }
  return run;
}

TEST(TensorIo, DTypeMapping) {
  for (st::DType d : {st::DType::kBool, st::DType::kU8, st::DType::kI8, st::DType::kI16,
                      st::DType::kF16, st::DType::kBF16, st::DType::kI32, st::DType::kF32,
                      st::DType::kF64, st::DType::kI64}) {
    absl::StatusOr<c10::ScalarType> t = ToScalarType(d);
    ASSERT_TRUE(t.ok()) << st::DTypeName(d);
    EXPECT_EQ(c10::elementSize(*t), st::DTypeSize(d));
    EXPECT_EQ(FromScalarType(*t).value(), d);
  }
  for (st::DType d : {st::DType::kU16, st::DType::kU32, st::DType::kU64, st::DType::kF8E4M3,
                      st::DType::kF8E5M2}) {
    EXPECT_EQ(ToScalarType(d).status().code(), absl::StatusCode::kUnimplemented);
  }
  EXPECT_EQ(FromScalarType(at::kComplexFloat).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(TensorIo, SaveAndLoadEveryDtype) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("all.safetensors");
  ASSERT_TRUE(SaveFile(path, ExpectedTensors(), {{"writer", "nmoe"}}).ok());
  auto ckpt = st::Checkpoint::Open(path);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  for (bool zero_copy : {false, true}) {
    absl::StatusOr<std::map<std::string, at::Tensor>> all = LoadAll(**ckpt, {.dtype = std::nullopt, .zero_copy = zero_copy});
    ASSERT_TRUE(all.ok()) << all.status();
    ExpectAllMatch(*all);
  }
}

TEST(TensorIo, ZeroCopyViewsKeepTheFileAliveAndNeverWriteIt) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("w.safetensors");
  at::Tensor w = at::randn({64, 32});
  ASSERT_TRUE(SaveFile(path, {{"w", w}}).ok());
  at::Tensor view, copy;
  const void* mapped = nullptr;
  {
    auto file = st::File::Open(path);
    ASSERT_TRUE(file.ok());
    const st::TensorInfo& info = *(*file)->Find("w");
    mapped = (*file)->Bytes(info).data();
    view = ToTensor(*file, info, {.dtype = std::nullopt, .zero_copy = true}).value();
    copy = ToTensor(*file, info).value();
  }  // the File's last outside reference is gone; `view` keeps the mapping
  EXPECT_EQ(view.data_ptr(), mapped);
  EXPECT_NE(copy.data_ptr(), mapped);
  EXPECT_TRUE(SameBits(view, w));
  view.add_(1.0);  // private copy-on-write pages: no fault, no change on disk
  EXPECT_TRUE(SameBits(copy, w));
  auto again = st::File::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(SameBits(ToTensor(*again, *(*again)->Find("w")).value(), w));
  view = at::Tensor();  // unmaps
}

TEST(TensorIo, ConvertsDtypesOnLoad) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("b.safetensors");
  ASSERT_TRUE(SaveFile(path, ExpectedTensors()).ok());
  auto ckpt = st::Checkpoint::Open(path).value();
  // BF16 -> F32 is exact: the float whose top 16 bits are the pattern.
  at::Tensor f = LoadTensor(*ckpt, "bf16_bits", std::nullopt, {.dtype = at::kFloat}).value();
  ASSERT_EQ(f.scalar_type(), at::kFloat);
  for (size_t i = 0; i < kBf16Bits.size(); ++i) {
    uint32_t want = static_cast<uint32_t>(static_cast<uint16_t>(kBf16Bits[i])) << 16;
    uint32_t got;
    std::memcpy(&got, f.data_ptr<float>() + i, 4);
    EXPECT_EQ(got, want) << i;
  }
  // F32 -> BF16 and F64 -> F32 through LibTorch's conversions, zero_copy ignored.
  at::Tensor b = LoadTensor(*ckpt, "f32", std::nullopt, {.dtype = at::kBFloat16, .zero_copy = true})
                     .value();
  EXPECT_TRUE(SameBits(b, Pattern(15, 1).to(at::kFloat).to(at::kBFloat16).reshape({3, 5})));
  at::Tensor d = LoadTensor(*ckpt, "f64", std::nullopt, {.dtype = at::kFloat}).value();
  EXPECT_TRUE(SameBits(d, Pattern(6, 2).to(at::kFloat).reshape({2, 3})));
}

TEST(TensorIo, ShapeChecksAndMissingTensorsNameEverything) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("s.safetensors");
  ASSERT_TRUE(SaveFile(path, {{"model.norm.weight", at::ones({2, 3})}}).ok());
  auto ckpt = st::Checkpoint::Open(path).value();
  std::vector<int64_t> good = {2, 3}, bad = {3, 2}, rank = {6};
  EXPECT_TRUE(LoadTensor(*ckpt, "model.norm.weight", good).ok());
  absl::Status s = LoadTensor(*ckpt, "model.norm.weight", bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), path + ": tensor 'model.norm.weight' has shape [2, 3], expected [3, 2]");
  EXPECT_THAT(std::string(LoadTensor(*ckpt, "model.norm.weight", rank).status().message()),
              HasSubstr("has shape [2, 3], expected [6]"));
  absl::Status missing = LoadTensor(*ckpt, "lm_head.weight", good).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "tensor 'lm_head.weight' not found in checkpoint " + path);
}

TEST(TensorIo, RejectsBoolBytesOtherThanZeroOrOne) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("bool.safetensors");
  st::testing::WriteBytes(
      path, st::testing::Image(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                               {1, 2, 0}));
  auto file = st::File::Open(path).value();
  absl::Status s = ToTensor(file, *file->Find("m")).status();
  EXPECT_EQ(s.message(), path + ": tensor 'm': BOOL element 1 is 2, not 0 or 1");
}

TEST(TensorIo, UnsupportedDtypesAndForeignInfosAreErrors) {
  nmoe::testing::TempDir dir;
  std::string path = dir.file("u.safetensors");
  st::testing::WriteBytes(
      path, st::testing::Image(R"({"x":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}})", {1, 0}));
  auto file = st::File::Open(path).value();
  absl::Status s = ToTensor(file, *file->Find("x")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tensor 'x': dtype U16 has no LibTorch"));
  st::TensorInfo foreign = *file->Find("x");
  EXPECT_THAT(std::string(ToTensor(file, foreign).status().message()),
              HasSubstr("does not belong to this file"));
}

TEST(TensorIo, ViewsAndSavingArbitraryTensors) {
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3});
  absl::StatusOr<st::TensorView> v = ToView("t", t);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->data.data(), t.data_ptr());
  EXPECT_EQ(v->data.size(), 24u);
  EXPECT_THAT(std::string(ToView("tt", t.t()).status().message()),
              HasSubstr("tensor 'tt' is not a contiguous dense tensor"));
  EXPECT_THAT(std::string(ToView("u", at::Tensor()).status().message()),
              HasSubstr("tensor 'u' is undefined"));
  EXPECT_EQ(ToView("c", at::zeros({2}, at::kComplexFloat)).status().code(),
            absl::StatusCode::kUnimplemented);
  // SaveFile makes strided tensors contiguous and detaches those requiring grad.
  nmoe::testing::TempDir dir;
  std::string path = dir.file("t.safetensors");
  at::Tensor g = at::ones({3}).requires_grad_(true);
  ASSERT_TRUE(SaveFile(path, {{"tt", t.t()}, {"g", g}}).ok());
  auto ckpt = st::Checkpoint::Open(path).value();
  EXPECT_TRUE(SameBits(LoadTensor(*ckpt, "tt", std::nullopt).value(), t.t().contiguous()));
  EXPECT_THAT(std::string(SaveFile(path, {{"u", at::Tensor()}}).message()), HasSubstr("undefined"));
}

void ExpectReadsPythonFile(const std::string& path) {
  auto ckpt = st::Checkpoint::Open(path);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  for (bool zero_copy : {false, true}) {
    auto all = LoadAll(**ckpt, {.dtype = std::nullopt, .zero_copy = zero_copy});
    ASSERT_TRUE(all.ok()) << all.status();
    ExpectAllMatch(*all);
  }
  // "u8" (3 bytes) comes first, so "f32" starts misaligned: zero_copy falls back to a copy.
  const st::Checkpoint::Entry* e = (*ckpt)->Find("f32");
  ASSERT_NE(e, nullptr);
  ASSERT_NE(reinterpret_cast<uintptr_t>(e->file->Bytes(*e->info).data()) % 4, 0u);
  at::Tensor f = ToTensor(e->file, *e->info, {.dtype = std::nullopt, .zero_copy = true}).value();
  EXPECT_NE(f.data_ptr(), e->file->Bytes(*e->info).data());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data_ptr()) % 4, 0u);
}

// One Python process (torch imports once): (a) reads files and a sharded folder written
// here, and a file with one wrong value, which it must reject; (b) writes a file for the
// next test to read.
TEST(TensorIoInterop, PythonReadsWhatWeWriteAndWritesForUs) {
  nmoe::testing::TempDir dir;
  std::string good = dir.file("cpp.safetensors"), folder = dir.file("ckpt");
  std::string bad = dir.file("bad.safetensors"), py = dir.file("py.safetensors");
  ASSERT_TRUE(SaveFile(good, ExpectedTensors(), {{"writer", "nmoe"}}).ok());
  ASSERT_TRUE(SaveSharded(folder, ExpectedTensors(), 64, {{"writer", "nmoe"}}).ok());
  NamedTensors wrong = ExpectedTensors();
  wrong[0].second = wrong[0].second.clone();
  wrong[0].second[1][2] = 100.0;
  ASSERT_TRUE(SaveFile(bad, wrong, {{"writer", "nmoe"}}).ok());

  ReferenceRun run = RunReference(
      {{"verify", good}, {"verify-dir", folder}, {"verify", bad}, {"write", py}});
  ASSERT_EQ(run.sections.size(), 4u) << run.output;
  EXPECT_EQ(run.status, 1) << run.output;  // the bad file, only
  EXPECT_THAT(run.sections[0], ::testing::EndsWith("\nOK\n")) << run.output;
  EXPECT_THAT(run.sections[1], ::testing::EndsWith("\nOK\n")) << run.output;
  EXPECT_THAT(run.sections[2], HasSubstr("f32: values differ")) << run.output;
  EXPECT_THAT(run.sections[2], HasSubstr("1 problem(s)")) << run.output;
  EXPECT_THAT(run.sections[3], ::testing::EndsWith("\nOK\n")) << run.output;
  ExpectReadsPythonFile(py);
}

// (b) Files written by the independent Python writer (unaligned on purpose) read here:
// the committed one here, a fresh one in the test above.
TEST(TensorIoInterop, WeReadTheCommittedPythonFixture) {
  ExpectReadsPythonFile(SourceDir() + "/tests/model/fixtures/python_reference.safetensors");
}

}  // namespace
}  // namespace nmoe::model
