// DataRoots (common/data_roots.h) and CheckSpecLimits (common/spec_limits.h)
// on real folders and symlinks in a temp dir.
#include "common/data_roots.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/spec_limits.h"
#include "tests/support/temp_dir.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class DataRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "data" / "corpora");
    fs::create_directories(dir_.path() / "data2");
    fs::create_directories(dir_.path() / "secret");
    std::ofstream(dir_.path() / "secret" / "key") << "x";
    // data/escape -> ../secret (outside), data/inner -> corpora (inside).
    fs::create_directory_symlink(dir_.path() / "secret", dir_.path() / "data" / "escape");
    fs::create_directory_symlink(dir_.path() / "data" / "corpora", dir_.path() / "data" / "inner");
    auto roots = DataRoots::Create({data()});
    ASSERT_TRUE(roots.ok()) << roots.status();
    roots_ = *std::move(roots);
  }
  std::string data() const { return (dir_.path() / "data").string(); }
  absl::Status Check(const std::string& path, std::optional<fs::path> base = std::nullopt) const {
    return roots_.Check("spec.x.path", path, base);
  }

  testing::TempDir dir_;
  DataRoots roots_;
};

TEST_F(DataRootsTest, NoRootsAcceptsEverything) {
  DataRoots none;
  EXPECT_TRUE(none.Check("f", "/etc/passwd", std::nullopt).ok());
  EXPECT_TRUE(none.Check("f", "../../x", std::nullopt).ok());
}

TEST_F(DataRootsTest, AbsolutePathsInsideARootPass) {
  EXPECT_TRUE(Check(data()).ok());
  EXPECT_TRUE(Check(data() + "/corpora/en.txt").ok());
  EXPECT_TRUE(Check(data() + "/corpora/../new/out").ok());      // stays inside
  EXPECT_TRUE(Check(data() + "/inner/en.txt").ok());             // symlink to inside
  EXPECT_TRUE(Check(data() + "/not/yet/created/model").ok());   // outputs need not exist
}

TEST_F(DataRootsTest, AbsolutePathsOutsideAreRefusedNamingTheField) {
  for (const std::string& path : {std::string("/etc/passwd"), data() + "/../secret/key", data() + "/corpora/../../secret",
                                 dir_.file("data2/x"),  // a sibling whose name starts like the root's
                                 dir_.path().string()}) {
    absl::Status s = Check(path);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << path << ": " << s;
    EXPECT_THAT(std::string(s.message()), StartsWith("spec.x.path: '" + path + "' is outside the data roots"));
  }
}

TEST_F(DataRootsTest, SymlinksOutOfARootAreRefused) {
  absl::Status s = Check(data() + "/escape/key");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("resolves through a symlink to"));
  // Also for a file that does not exist yet under the link (an output path).
  EXPECT_TRUE(absl::IsInvalidArgument(Check(data() + "/escape/new/out")));
}

TEST_F(DataRootsTest, RelativePathsMayNotClimbOut) {
  // The coordinator: no base, so only the lexical climb is checked.
  EXPECT_TRUE(Check("corpora/en.txt").ok());
  EXPECT_TRUE(Check("a/../b").ok());
  for (const char* path : {"../x", "a/../../x", "./.."}) {
    absl::Status s = Check(path);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << path;
    EXPECT_THAT(std::string(s.message()), HasSubstr("climbs out of the work dir"));
  }
  // A worker: resolved under its work dir, then checked like an absolute path.
  EXPECT_TRUE(Check("corpora/en.txt", fs::path(data())).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(Check("escape/key", fs::path(data()))));
  EXPECT_TRUE(absl::IsInvalidArgument(Check("corpora/en.txt", dir_.path() / "secret")));
}

TEST_F(DataRootsTest, RootsGivenThroughASymlinkMatchBothForms) {
  fs::create_directory_symlink(dir_.path() / "data", dir_.path() / "link-to-data");
  auto roots = DataRoots::Create({dir_.file("link-to-data")});
  ASSERT_TRUE(roots.ok());
  EXPECT_TRUE(roots->Check("f", dir_.file("link-to-data/corpora/en.txt"), std::nullopt).ok());
  EXPECT_TRUE(roots->Check("f", data() + "/corpora/en.txt", std::nullopt).ok());
  EXPECT_FALSE(roots->Check("f", dir_.file("secret/key"), std::nullopt).ok());
  EXPECT_FALSE(DataRoots::Create({""}).ok());
}

TEST_F(DataRootsTest, CheckSpecFindsEveryPathField) {
  v1::JobSpec spec;
  auto* p = spec.mutable_pipeline();
  p->mutable_base_model()->set_path(data() + "/model");
  for (const char* lang : {"en", "el"}) {
    auto* c = p->add_corpora();
    c->set_language(lang);
    c->add_paths(data() + "/corpora/" + lang + ".txt");
  }
  p->set_output_path("out/pipeline");
  EXPECT_TRUE(roots_.CheckSpec(spec, std::nullopt).ok());

  p->mutable_corpora(1)->add_paths(dir_.file("secret/key"));
  absl::Status s = roots_.CheckSpec(spec, std::nullopt);
  EXPECT_THAT(std::string(s.message()), StartsWith("spec.pipeline.corpora[1].paths[1]: "));
  p->mutable_corpora(1)->mutable_paths()->RemoveLast();

  p->mutable_base_model()->set_tokenizer_path("/etc/tokenizer.json");
  s = roots_.CheckSpec(spec, std::nullopt);
  EXPECT_THAT(std::string(s.message()), StartsWith("spec.pipeline.base_model.tokenizer_path: "));
  p->mutable_base_model()->clear_tokenizer_path();

  p->set_output_path("../../elsewhere");
  s = roots_.CheckSpec(spec, std::nullopt);
  EXPECT_THAT(std::string(s.message()), StartsWith("spec.pipeline.output_path: "));
}

TEST(SpecLimitsTest, BoundsRepeatedFieldsStringsAndTotalSize) {
  v1::JobSpec spec;
  auto* c = spec.mutable_profile()->add_corpora();
  c->set_language("en");
  for (int i = 0; i < kMaxSpecRepeated; ++i) c->add_paths("f");
  EXPECT_TRUE(CheckSpecLimits(spec).ok());
  c->add_paths("f");
  absl::Status s = CheckSpecLimits(spec);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(std::string(s.message()), StartsWith("spec.profile.corpora[0].paths: 4097 entries, at most 4096"));

  v1::JobSpec strings;
  strings.mutable_allocate()->add_old_languages(std::string(kMaxSpecStringBytes, 'a'));
  EXPECT_TRUE(CheckSpecLimits(strings).ok());
  strings.mutable_allocate()->add_old_languages(std::string(kMaxSpecStringBytes + 1, 'a'));
  EXPECT_THAT(std::string(CheckSpecLimits(strings).message()), StartsWith("spec.allocate.old_languages[1]: 4097 bytes"));
  strings.mutable_allocate()->clear_old_languages();
  strings.set_name(std::string(kMaxSpecStringBytes + 1, 'n'));
  EXPECT_THAT(std::string(CheckSpecLimits(strings).message()), StartsWith("spec.name: 4097 bytes"));

  v1::JobSpec big;  // 400 corpora of 4 KiB paths: ~1.6 MiB, under every per-field bound
  for (int i = 0; i < 400; ++i) big.mutable_pipeline()->add_corpora()->add_paths(std::string(4000, 'p'));
  EXPECT_THAT(std::string(CheckSpecLimits(big).message()), HasSubstr("bytes serialised, at most 1048576"));
}

}  // namespace
}  // namespace nmoe
