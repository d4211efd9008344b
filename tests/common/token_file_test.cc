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

}  // namespace
}  // namespace nmoe
