// The BLAS probe against independent sources: the file the libblas.so.3
// alternative resolves to, and /proc/self/maps.
#include "compute/blas_probe.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::compute {
namespace {

using ::testing::HasSubstr;

// Every file mapped into this process.
std::string Maps() {
  std::ifstream in("/proc/self/maps");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(BlasProbeTest, FindsTheLibraryServingSgemm) {
  const BlasInfo blas = ProbeBlas();
  ASSERT_NE(blas.kind, BlasKind::kNone) << "this test links LibTorch, which needs a BLAS";
  EXPECT_THAT(Maps(), HasSubstr(blas.resolved_path));
  EXPECT_THAT(blas.loaded_libraries, ::testing::Contains(blas.sgemm_library));
}

TEST(BlasProbeTest, AgreesWithTheSelectedAlternative) {
  // What the dynamic loader finds for libblas.so.3 on Debian: the alternatives link.
  const std::string link = "/usr/lib/x86_64-linux-gnu/libblas.so.3";
  std::error_code ec;
  const auto selected = std::filesystem::canonical(link, ec);
  if (ec) GTEST_SKIP() << link << " not present";
  const BlasInfo blas = ProbeBlas();
  if (getenv("LD_LIBRARY_PATH") == nullptr) {
    EXPECT_EQ(blas.resolved_path, selected.string());
  }
  if (absl::StrContains(selected.string(), "openblas")) {
    ASSERT_EQ(blas.kind, BlasKind::kOpenBlas) << DescribeBlas(blas);
    EXPECT_THAT(blas.config, HasSubstr("OpenBLAS"));
    EXPECT_TRUE(absl::StartsWith(blas.version, "0.")) << blas.version;
    EXPECT_FALSE(blas.corename.empty());
    EXPECT_GT(blas.threads, 0);
    EXPECT_THAT(DescribeBlas(blas), HasSubstr("kernels " + blas.corename));
  } else if (absl::StrContains(selected.string(), "/blas/")) {
    EXPECT_EQ(blas.kind, BlasKind::kReference);
  }
}

TEST(BlasProbeTest, SetsOpenBlasThreads) {
  const BlasInfo before = ProbeBlas();
  if (!before.is_openblas()) {
    EXPECT_FALSE(SetBlasThreads(1));
    return;
  }
  ASSERT_TRUE(SetBlasThreads(1));
  EXPECT_EQ(ProbeBlas().threads, 1);
  ASSERT_TRUE(SetBlasThreads(before.threads));
  EXPECT_EQ(ProbeBlas().threads, before.threads);
}

}  // namespace
}  // namespace nmoe::compute
