// Malformed, truncated and unsupported tokenizer.json files get precise
// errors and never crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "tests/tokenizer/tiny_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::tokenizer {
namespace {

using ::testing::HasSubstr;
using testing::TinyTokenizerJson;
using Json = nlohmann::ordered_json;

TEST(TokenizerErrorsTest, EveryTruncationIsInvalidArgument) {
  const std::string text = TinyTokenizerJson({{{"content", "<s>"}, {"special", true}}}).dump();
  for (size_t cut = 0; cut < text.size(); cut += 1 + cut / 64) {
    const absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(std::string_view(text).substr(0, cut));
    ASSERT_FALSE(t.ok()) << cut;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << cut;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("not valid JSON")) << cut;
  }
}

TEST(TokenizerErrorsTest, RandomByteFlipsNeverCrash) {
  const std::string text = TinyTokenizerJson().dump();
  std::mt19937 rng(11);
  int failures = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string mutated = text;
    for (int k = 0; k < 3; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    const absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(mutated);
    if (!t.ok()) {
      ++failures;
      EXPECT_THAT(std::string(t.status().message()), HasSubstr("tokenizer.json"));
    } else {
      t->Encode("some text 123");  // whatever loaded must encode
    }
  }
  EXPECT_GT(failures, 0);
}

struct Case {
  const char* name;
  std::function<void(Json&)> mutate;
  absl::StatusCode code;
  const char* message;
};

TEST(TokenizerErrorsTest, PreciseErrors) {
  const std::string kA = BytesToByteLevel("a");
  const std::vector<Case> cases = {
      {"root array", [](Json& j) { j = Json::array(); }, absl::StatusCode::kInvalidArgument, "(root): expected an object, got array"},
      {"no model", [](Json& j) { j.erase("model"); }, absl::StatusCode::kInvalidArgument, "has no \"model\""},
      {"wordpiece", [](Json& j) { j["model"]["type"] = "WordPiece"; }, absl::StatusCode::kUnimplemented, "model.type: \"WordPiece\" is not supported"},
      {"byte_fallback", [](Json& j) { j["model"]["byte_fallback"] = true; }, absl::StatusCode::kUnimplemented, "model.byte_fallback"},
      {"dropout", [](Json& j) { j["model"]["dropout"] = 0.1; }, absl::StatusCode::kUnimplemented, "model.dropout"},
      {"suffix", [](Json& j) { j["model"]["end_of_word_suffix"] = "</w>"; }, absl::StatusCode::kUnimplemented, "model.end_of_word_suffix: \"</w>\""},
      {"vocab id type", [&](Json& j) { j["model"]["vocab"][kA] = "x"; }, absl::StatusCode::kInvalidArgument, "model.vocab[\"a\"]: expected an integer id, got string"},
      {"negative id", [&](Json& j) { j["model"]["vocab"][kA] = -3; }, absl::StatusCode::kInvalidArgument, "id -3 is out of range"},
      {"duplicate id", [&](Json& j) { j["model"]["vocab"]["zzz"] = 5; }, absl::StatusCode::kInvalidArgument, "model.vocab: id 5 is used by both"},
      {"missing byte", [](Json& j) { j["model"]["vocab"].erase("\xC4\x80"); }, absl::StatusCode::kInvalidArgument, "lacks the byte-level token \"\xC4\x80\" for byte 0"},
      {"merge string", [](Json& j) { j["model"]["merges"][0] = "a b c"; }, absl::StatusCode::kInvalidArgument, "model.merges[0]: \"a b c\" is not two tokens"},
      {"merge type", [](Json& j) { j["model"]["merges"][1] = 5; }, absl::StatusCode::kInvalidArgument, "model.merges[1]: expected a string"},
      {"merge unknown", [](Json& j) { j["model"]["merges"][2] = Json::array({"q", "zz"}); }, absl::StatusCode::kInvalidArgument, "model.merges[2]: \"zz\" is not in model.vocab"},
      {"merge result unknown", [](Json& j) { j["model"]["merges"][2] = "q q"; }, absl::StatusCode::kInvalidArgument, "model.merges[2]: \"qq\" is not in model.vocab"},
      {"added clash", [&](Json& j) { j["added_tokens"] = Json::array({{{"id", 3}, {"content", "<x>"}}}); }, absl::StatusCode::kInvalidArgument, "added_tokens[0]: id 3 of \"<x>\" is the model token"},
      {"added content", [](Json& j) { j["added_tokens"] = Json::array({{{"id", 900}, {"content", 5}}}); }, absl::StatusCode::kInvalidArgument, "added_tokens[0].content: expected a string"},
      {"lowercase", [](Json& j) { j["normalizer"] = {{"type", "Lowercase"}}; }, absl::StatusCode::kUnimplemented, "normalizer type \"Lowercase\" is not supported"},
      {"nested normalizer", [](Json& j) { j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Prepend"}}}}}; }, absl::StatusCode::kUnimplemented, "normalizer.normalizers[1]: normalizer type \"Prepend\""},
      {"no pre-tokenizer", [](Json& j) { j["pre_tokenizer"] = nullptr; }, absl::StatusCode::kUnimplemented, "pre_tokenizer: is null"},
      {"metaspace", [](Json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; }, absl::StatusCode::kUnimplemented, "pre-tokenizer type \"Metaspace\""},
      {"behavior", [](Json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithPrevious"; }, absl::StatusCode::kUnimplemented, "pre_tokenizer.pretokenizers[0].behavior: \"MergedWithPrevious\""},
      {"invert", [](Json& j) { j["pre_tokenizer"]["pretokenizers"][0]["invert"] = true; }, absl::StatusCode::kUnimplemented, "invert"},
      {"regex \\w", [](Json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+"; }, absl::StatusCode::kUnimplemented, "\\w at offset 0"},
      {"bad regex", [](Json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a"; }, absl::StatusCode::kInvalidArgument, "does not compile"},
      {"bytelevel first", [](Json& j) { auto& p = j["pre_tokenizer"]["pretokenizers"]; std::swap(p[0], p[1]); }, absl::StatusCode::kUnimplemented, "ByteLevel must be the last"},
      {"roberta", [](Json& j) { j["post_processor"] = {{"type", "RobertaProcessing"}}; }, absl::StatusCode::kUnimplemented, "post-processor type \"RobertaProcessing\""},
      {"template unknown", [](Json& j) { j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<s>"}}}}}}, {"special_tokens", Json::object()}}; }, absl::StatusCode::kInvalidArgument, "special token \"<s>\" is not in special_tokens"},
      {"template id", [](Json& j) { j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<s>"}}}}}}, {"special_tokens", {{"<s>", {{"ids", {70000}}}}}}}; }, absl::StatusCode::kInvalidArgument, "has id 70000, which is not in the vocabulary"},
      {"decoder", [](Json& j) { j["decoder"] = {{"type", "Metaspace"}}; }, absl::StatusCode::kUnimplemented, "decoder type \"Metaspace\""},
      {"truncation", [](Json& j) { j["truncation"] = {{"max_length", 8}}; }, absl::StatusCode::kUnimplemented, "truncation: is set"},
  };
  for (const Case& c : cases) {
    Json json = TinyTokenizerJson();
    c.mutate(json);
    const absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(json.dump());
    ASSERT_FALSE(t.ok()) << c.name;
    EXPECT_EQ(t.status().code(), c.code) << c.name << ": " << t.status();
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.message)) << c.name;
  }
}

TEST(TokenizerErrorsTest, MissingFileIsNotFound) {
  const absl::StatusOr<Tokenizer> t = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("/nonexistent/tokenizer.json"));
}

}  // namespace
}  // namespace nmoe::tokenizer
