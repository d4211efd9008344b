#include "data/corpus/tar_reader.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/subprocess.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace nmoe::data {
namespace {

namespace fs = std::filesystem;

// 121 characters in two components (each fits a ustar name field, the whole does not).
std::string LongDir() { return std::string(60, 'd') + "/" + std::string(60, 'e'); }

// Builds an archive with GNU tar (the real producer of the formats read here).
std::string MakeTar(const testing::TempDir& tmp, const std::string& format) {
  fs::path root = tmp.path() / "root";
  fs::create_directories(root / "usr/share/a");
  const std::string long_dir = LongDir();
  fs::create_directories(root / long_dir);
  std::ofstream(root / "usr/share/a/one.txt") << "first file";
  std::ofstream(root / long_dir / "long-name.txt") << std::string(1500, 'x');
  std::ofstream(root / "empty.txt");
  std::string out = tmp.file("a-" + format + ".tar");
  auto run = RunCommand({"tar", "--format=" + format, "-cf", out, "-C", root.string(), "."});
  EXPECT_TRUE(run.ok() && run->exit_code == 0) << (run.ok() ? run->err : run.status().ToString());
  std::ifstream in(out, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The 135-character path exercises GNU long names, pax "path" records and the ustar prefix field.
TEST(TarReaderTest, ReadsGnuPaxAndUstarArchives) {
  for (const std::string format : {"gnu", "pax", "ustar"}) {
    testing::TempDir tmp;
    std::string tar = MakeTar(tmp, format);
    std::map<std::string, std::string> files;
    absl::Status s = ForEachTarFile(tar, [&](std::string_view path, std::string_view content) {
      files[std::string(path)] = std::string(content);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << format << ": " << s;
    EXPECT_EQ(files.size(), 3u) << format;
    EXPECT_EQ(files["usr/share/a/one.txt"], "first file");
    EXPECT_TRUE(files[LongDir() + "/long-name.txt"] == std::string(1500, 'x')) << format;
    EXPECT_EQ(files["empty.txt"], "");
  }
}

TEST(TarReaderTest, CorruptHeaderAndTruncation) {
  testing::TempDir tmp;
  std::string tar = MakeTar(tmp, "gnu");
  auto noop = [](std::string_view, std::string_view) { return absl::OkStatus(); };
  std::string bad = tar;
  bad[10] ^= 0x01;  // inside the first header's name
  absl::Status s = ForEachTarFile(bad, noop);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("checksum at offset 0"), std::string::npos);
  // Cut inside the 1500-byte member.
  size_t cut = tar.find(std::string(1500, 'x')) + 700;
  s = ForEachTarFile(std::string_view(tar).substr(0, cut), noop);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("past the end"), std::string::npos);
}

TEST(TarReaderTest, VisitorErrorStops) {
  testing::TempDir tmp;
  std::string tar = MakeTar(tmp, "gnu");
  int calls = 0;
  absl::Status s = ForEachTarFile(tar, [&](std::string_view, std::string_view) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace nmoe::data
