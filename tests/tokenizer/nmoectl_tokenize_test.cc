// nmoectl tokenize: whole command lines in-process (RunNmoectl with a string
// as stdin) on a small tokenizer.json, and the real binary through a pipe.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "cli/app.h"
#include "cli/errors.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/tiny_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::tokenizer::testing {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code;
  std::string out;
  std::string err;
};

class TokenizeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("tokenizer.json");
    std::ofstream(path_) << TinyTokenizerJson({{{"content", "<|bos|>"}, {"special", true}}}).dump();
    absl::StatusOr<Tokenizer> t = Tokenizer::FromFile(path_);
    ASSERT_TRUE(t.ok());
    tokenizer_.emplace(*std::move(t));
  }

  Result Run(std::vector<std::string> args, const std::string& stdin_text) {
    args.insert(args.begin(), "nmoectl");
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    cli::SessionIo io;
    io.in = &in;
    io.out = &out;
    io.err = &err;
    io.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    const int code = cli::RunNmoectl(args, std::move(io));
    return {code, out.str(), err.str()};
  }

  std::string IdsJson(const std::string& text, bool special = false) {
    std::string s = "[";
    const std::vector<int32_t> ids = tokenizer_->Encode(text, special);
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s + "]";
  }

  nmoe::testing::TempDir dir_;
  std::string path_;
  std::optional<Tokenizer> tokenizer_;
};

TEST_F(TokenizeCommandTest, EncodesEachLine) {
  const Result r = Run({"tokenize", "--tokenizer", path_}, "hello the world\n\n<|bos|>aaa 12\nno newline at end");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, IdsJson("hello the world") + "\n[]\n" + IdsJson("<|bos|>aaa 12") + "\n" +
                       IdsJson("no newline at end") + "\n");
}

TEST_F(TokenizeCommandTest, DecodeRoundTripsAndSkipsSpecialTokens) {
  const std::string ids = IdsJson("<|bos|>hello the world") + "\n" + IdsJson("x\ty") + "\n[]\n";
  Result r = Run({"tokenize", "--tokenizer", path_, "--decode"}, ids);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "<|bos|>hello the world\nx\ty\n\n");
  r = Run({"tokenize", "--tokenizer", path_, "--decode", "--skip-special-tokens", "-o", "json"}, ids);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "\"hello the world\"\n\"x\\ty\"\n\"\"\n");
}

TEST_F(TokenizeCommandTest, ClearErrors) {
  Result r = Run({"tokenize", "--tokenizer", dir_.file("missing.json")}, "x\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("error: cannot open tokenizer file"));
  std::ofstream(dir_.file("bad.json")) << "{\"model\": ";
  r = Run({"tokenize", "--tokenizer", dir_.file("bad.json")}, "x\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("bad.json: tokenizer.json is not valid JSON"));
  r = Run({"tokenize", "--tokenizer", path_, "--decode"}, "[1,2]\n[1, \"x\"]\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("line 2: element 1 is not an integer token id: \"x\""));
  r = Run({"tokenize", "--tokenizer", path_, "--decode"}, "hello\n");
  EXPECT_THAT(r.err, HasSubstr("line 1: expected a JSON array of token ids, got hello"));
  r = Run({"tokenize", "--tokenizer", path_, "--decode"}, "[1]\n[99999]\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("line 2: Decode: id 99999"));
  r = Run({"tokenize", "--tokenizer", path_, "-o", "csv"}, "x\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  r = Run({"tokenize"}, "x\n");
  EXPECT_EQ(r.code, cli::kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--tokenizer is required"));
}

// The real binary reads its standard input.
TEST_F(TokenizeCommandTest, BinaryReadsStdin) {
  const std::string input = dir_.file("in.txt");
  std::ofstream(input) << "hello the world\n";
  const std::string command = nmoe::testing::BuildPath("cli/nmoectl") + " tokenize --add-special-tokens --tokenizer '" +
                              path_ + "' < '" + input + "'";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  std::string out;
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out, IdsJson("hello the world", true) + "\n");
}

}  // namespace
}  // namespace nmoe::tokenizer::testing
