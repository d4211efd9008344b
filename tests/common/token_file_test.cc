#include "common/token_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nmoe-token-file-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Writes `contents` byte for byte and returns the path.
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out << contents;
    out.close();
    EXPECT_TRUE(out) << path;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(TokenFileTest, ReadsOneTokenPerLine) {
  const auto path = Write("tokens", "alpha\nbeta\ngamma\n");
  auto tokens = ReadTokenFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, ElementsAre("alpha", "beta", "gamma"));
}

TEST_F(TokenFileTest, LastLineWithoutNewlineCounts) {
  auto tokens = ReadTokenFile(Write("tokens", "alpha\nbeta"));
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, ElementsAre("alpha", "beta"));
}

TEST_F(TokenFileTest, SkipsCommentsAndBlankLines) {
  const auto path = Write("tokens",
                          "# production tokens\n"
                          "\n"
                          "alpha\n"
                          "   \n"
                          "\t# indented comment\n"
                          "beta#not-a-comment\n"
                          "\n");
  auto tokens = ReadTokenFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, ElementsAre("alpha", "beta#not-a-comment"));
}

TEST_F(TokenFileTest, TrimsSurroundingWhitespaceIncludingCrLf) {
  const auto path = Write("tokens", "  alpha  \n\tbeta\t\r\ngamma\r\n \v\f delta \r\n");
  auto tokens = ReadTokenFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, ElementsAre("alpha", "beta", "gamma", "delta"));
}

TEST_F(TokenFileTest, KeepsDuplicatesAndOrder) {
  auto tokens = ReadTokenFile(Write("tokens", "b\na\nb\n"));
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, ElementsAre("b", "a", "b"));
}

TEST_F(TokenFileTest, InnerWhitespaceIsRejectedWithItsLineNumber) {
  const auto path = Write("tokens", "# header\nalpha\n\nbad token\ngamma\n");
  auto tokens = ReadTokenFile(path);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokens.status().message(), HasSubstr(path));
  EXPECT_THAT(tokens.status().message(), HasSubstr("line 4:"));
}

TEST_F(TokenFileTest, InnerTabAndControlCharactersAreRejected) {
  {
    auto tokens = ReadTokenFile(Write("tab", "ok\nab\tcd\n"));
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokens.status().message(), HasSubstr("line 2:"));
  }
  {
    auto tokens = ReadTokenFile(Write("ctl", std::string("ab\x01") + "cd\n"));
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tokens.status().message(), HasSubstr("line 1:"));
  }
  {
    auto tokens = ReadTokenFile(Write("nul", std::string("ab\0cd\n", 6)));
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(TokenFileTest, EmptyFileIsRejected) {
  const auto path = Write("empty", "");
  auto tokens = ReadTokenFile(path);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokens.status().message(), HasSubstr(path));
  EXPECT_THAT(tokens.status().message(), HasSubstr("no token"));
}

TEST_F(TokenFileTest, FileOfOnlyCommentsAndBlanksIsRejected) {
  auto tokens = ReadTokenFile(Write("comments", "# one\n\n   \n# two\n"));
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokens.status().message(), HasSubstr("no token"));
}

TEST_F(TokenFileTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "does-not-exist").string();
  auto tokens = ReadTokenFile(path);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tokens.status().message(), HasSubstr(path));
}

TEST_F(TokenFileTest, RoleLinesAndBareLines) {
  const auto path = Write("tokens",
                          "# roles\n"
                          "admin a1\n"
                          "submitter\ts1\n"
                          "  viewer   v1  \n"
                          "worker w1\r\n"
                          "bare1\n");
  auto entries = ReadTokenEntries(path);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 5u);
  const std::pair<Role, const char*> want[] = {{Role::kAdmin, "a1"},
                                               {Role::kSubmitter, "s1"},
                                               {Role::kViewer, "v1"},
                                               {Role::kWorker, "w1"},
                                               {Role::kAdmin, "bare1"}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*entries)[i].role, want[i].first) << i;
    EXPECT_EQ((*entries)[i].token, want[i].second) << i;
    EXPECT_EQ((*entries)[i].role_given, i < 4) << i;
  }
  auto tokens = ReadTokenFile(path);
  ASSERT_TRUE(tokens.ok());
  EXPECT_THAT(*tokens, ElementsAre("a1", "s1", "v1", "w1", "bare1"));
}

TEST_F(TokenFileTest, ErrorsNeverEchoTheToken) {
  // An unknown role may be a token pasted twice: not echoed either.
  const std::vector<std::string> lines = {"root tok-secret-1", "admin tok-secret-1 extra", "tok-secret-0 tok-secret-1",
                                          std::string("admin tok-secret-1\x01")};
  for (const std::string& line : lines) {
    auto entries = ReadTokenEntries(Write("bad", "admin ok-token\n" + line + "\n"));
    ASSERT_FALSE(entries.ok()) << line;
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(entries.status().message(), HasSubstr("line 2:"));
    EXPECT_THAT(entries.status().message(), ::testing::Not(HasSubstr("tok-secret")));
  }
}

TEST_F(TokenFileTest, OneTokenWithTwoRolesIsRejected) {
  auto entries = ReadTokenEntries(Write("dup", "viewer same-tok\nadmin same-tok\n"));
  ASSERT_FALSE(entries.ok());
  EXPECT_THAT(entries.status().message(), HasSubstr("line 2:"));
  EXPECT_THAT(entries.status().message(), ::testing::Not(HasSubstr("same-tok")));
  // The same token with the same role twice is harmless.
  EXPECT_TRUE(ReadTokenEntries(Write("same", "worker t\nworker t\n")).ok());
}

TEST_F(TokenFileTest, PickTokenPrefersTheRoleElseTheFirstLine) {
  auto entries = ReadTokenEntries(Write("tokens", "admin a\nworker w1\nworker w2\n"));
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(PickToken(*entries, std::nullopt).token, "a");
  EXPECT_EQ(PickToken(*entries, Role::kWorker).token, "w1");
  EXPECT_EQ(PickToken(*entries, Role::kViewer).token, "a");
  // A bare token is admin but does not count as an explicit worker line.
  auto bare = ReadTokenEntries(Write("bare", "b\n"));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(PickToken(*bare, Role::kWorker).token, "b");
}

TEST(RoleTest, NamesRoundTripAndSetsPrint) {
  for (Role r : kAllRoles) EXPECT_EQ(ParseRole(RoleName(r)), r);
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
  EXPECT_EQ((RoleSet{Role::kWorker, Role::kAdmin}).ToString(), "admin, worker");
  EXPECT_EQ(RoleSet().ToString(), "none");
  EXPECT_TRUE((RoleSet{Role::kViewer}).Contains(Role::kViewer));
  EXPECT_FALSE((RoleSet{Role::kViewer}).Contains(Role::kSubmitter));
}

}  // namespace
}  // namespace nmoe
