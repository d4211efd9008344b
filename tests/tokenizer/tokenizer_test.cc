#include "tokenizer/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/tokenizer/tiny_tokenizer.h"

namespace nmoe::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using testing::TinyId;
using testing::TinyTokenizerJson;
using Json = nlohmann::ordered_json;

Tokenizer Load(const Json& json) {
  absl::StatusOr<Tokenizer> t = Tokenizer::FromJson(json.dump());
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

TEST(TokenizerTest, EncodesWithMergesAndDecodes) {
  const Json json = TinyTokenizerJson();
  const Tokenizer t = Load(json);
  EXPECT_EQ(t.vocab_size(), 256 + 14);  // each of the 14 merges adds a token
  EXPECT_THAT(t.Encode("hello the world"),
              ElementsAre(TinyId(json, "hello"), TinyId(json, " the"), TinyId(json, " world")));
  EXPECT_THAT(t.Encode("aaa 12"), ElementsAre(TinyId(json, "aa"), TinyId(json, "a"), TinyId(json, " "),
                                              TinyId(json, "12")));
  for (const std::string text : {"hello the world", "Ünïcödé 中文 🙂\n\t x", ""}) {
    absl::StatusOr<std::string> back = t.Decode(t.Encode(text));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
  EXPECT_EQ(t.TokenToId("\xC4\xA0the"), TinyId(json, " the"));  // "Ġthe"
  EXPECT_EQ(t.IdToToken(TinyId(json, " the")), "\xC4\xA0the");
  EXPECT_FALSE(t.TokenToId(" the"));
  EXPECT_FALSE(t.IdToToken(-1));
  EXPECT_FALSE(t.bos_id());
}

TEST(TokenizerTest, InvalidUtf8IsReplacedBeforeEncoding) {
  const Tokenizer t = Load(TinyTokenizerJson());
  EXPECT_EQ(t.Encode("a\xFFz"), t.Encode("a\xEF\xBF\xBDz"));
  EXPECT_EQ(*t.Decode(t.Encode("a\xFF")), "a\xEF\xBF\xBD");
  // Decoding a lone byte of a multi-byte character gives U+FFFD too.
  const std::vector<int32_t> ids = t.Encode("\xC3\xA9");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(*t.Decode({ids.data(), 1}), "\xEF\xBF\xBD");
}

TEST(TokenizerTest, DecodeRejectsUnknownIds) {
  const Tokenizer t = Load(TinyTokenizerJson());
  const std::vector<int32_t> bad = {1, t.vocab_size()};
  const absl::StatusOr<std::string> s = t.Decode(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), ::testing::HasSubstr("position 1"));
}

TEST(TokenizerTest, AddedTokensAreMatchedFirstLongestLeftmost) {
  const Json json = TinyTokenizerJson({{{"content", "<|bos|>"}, {"special", true}},
                                       {{"content", "<|bos|>x"}, {"special", true}},
                                       {{"content", "[T]"}}});
  const Tokenizer t = Load(json);
  const int32_t bos = 256 + 14;
  const int32_t bos_x = bos + 1;
  const int32_t tag = bos + 2;
  EXPECT_THAT(t.Encode("<|bos|>hello"), ElementsAre(bos, TinyId(json, "hello")));
  EXPECT_THAT(t.Encode("<|bos|>x<|bos|>"), ElementsAre(bos_x, bos));
  EXPECT_THAT(t.Encode("a[T] [T]"), ElementsAre(TinyId(json, "a"), tag, TinyId(json, " "), tag));
  EXPECT_THAT(t.Encode("<|bos|"), ::testing::Not(::testing::Contains(bos)));
  EXPECT_EQ(*t.Decode(t.Encode("x<|bos|>[T]y")), "x<|bos|>[T]y");
  EXPECT_EQ(*t.Decode(t.Encode("x<|bos|>[T]y"), /*skip_special_tokens=*/true), "x[T]y");
  EXPECT_TRUE(t.IsSpecial(bos));
  EXPECT_FALSE(t.IsSpecial(tag));
  EXPECT_EQ(t.TokenToId("<|bos|>"), bos);
}

TEST(TokenizerTest, StripAndSingleWordFlags) {
  const Json json = TinyTokenizerJson({{{"content", "<L>"}, {"lstrip", true}},
                                       {{"content", "<R>"}, {"rstrip", true}},
                                       {{"content", "hi"}, {"single_word", true}}});
  const Tokenizer t = Load(json);
  const int32_t l = 256 + 14;
  const int32_t r = l + 1;
  const int32_t hi = l + 2;
  const int32_t a = TinyId(json, "a");
  EXPECT_THAT(t.Encode("a \t<L> a"), ElementsAre(a, l, TinyId(json, " "), a));
  EXPECT_THAT(t.Encode("a <R> \u3000 a"), ElementsAre(a, TinyId(json, " "), r, a));
  EXPECT_THAT(t.Encode("hi, hi"), ElementsAre(hi, TinyId(json, ","), TinyId(json, " "), hi));
  // Inside a word "hi" is plain text (h + i: no merge in the tiny table).
  EXPECT_THAT(t.Encode("ahi"), ElementsAre(a, TinyId(json, "h"), TinyId(json, "i")));
}

TEST(TokenizerTest, NormalizedAddedTokensMatchAfterNfc) {
  Json json = TinyTokenizerJson({{{"content", "e\xCC\x81!"}, {"normalized", true}}});  // "é!" decomposed
  json["normalizer"] = {{"type", "NFC"}};
  const Tokenizer t = Load(json);
  const int32_t token = 256 + 14;
  EXPECT_THAT(t.Encode("\xC3\xA9!"), ElementsAre(token));       // composed input
  EXPECT_THAT(t.Encode("e\xCC\x81!"), ElementsAre(token));      // decomposed input
  // NFC composes the text: é is two bytes, not e + combining acute.
  EXPECT_THAT(t.Encode("e\xCC\x81"), ElementsAre(TinyId(json, "\xC3"), TinyId(json, "\xA9")));
}

TEST(TokenizerTest, TemplateAddsBosOnlyWhenAsked) {
  Json json = TinyTokenizerJson({{{"content", "<|bos|>"}, {"special", true}},
                                 {{"content", "<|eos|>"}, {"special", true}}});
  const int32_t bos = 256 + 14;
  const int32_t eos = bos + 1;
  json["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
        {{"type", "TemplateProcessing"},
         {"single", {{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                     {{"SpecialToken", {{"id", "<|eos|>"}, {"type_id", 0}}}}}},
         {"pair", Json::array()},
         {"special_tokens",
          {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {bos}}, {"tokens", {"<|bos|>"}}}},
           {"<|eos|>", {{"id", "<|eos|>"}, {"ids", {eos}}, {"tokens", {"<|eos|>"}}}}}}}}}};
  const Tokenizer t = Load(json);
  EXPECT_THAT(t.Encode("a"), ElementsAre(TinyId(json, "a")));
  EXPECT_THAT(t.Encode("a", true), ElementsAre(bos, TinyId(json, "a"), eos));
  EXPECT_THAT(t.Encode("", true), ElementsAre(bos, eos));
  EXPECT_EQ(t.bos_id(), bos);
  EXPECT_EQ(t.eos_id(), eos);
  EXPECT_TRUE(t.has_post_processor_template());
}

TEST(TokenizerTest, ByteLevelRegexAndPrefixSpace) {
  Json json = TinyTokenizerJson();
  json["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  const Tokenizer t = Load(json);
  // GPT-2's regex, and a space before the text: "the" -> " the".
  EXPECT_THAT(t.Encode("the the"), ElementsAre(TinyId(json, " the"), TinyId(json, " the")));
}

TEST(TokenizerTest, CopiesShareStateAndConcurrentEncodeIsConsistent) {
  Tokenizer t = Load(TinyTokenizerJson());
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) texts.push_back("hello the world " + std::to_string(i * 7919) + " aaaa wor" + std::string(i % 9, 'l'));
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& s : texts) expected.push_back(Load(TinyTokenizerJson()).Encode(s));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, copy = t, k] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = k; i < texts.size(); i += 1 + (round % 3)) {
          if (copy.Encode(texts[i]) != expected[i]) ++mismatches;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  Tokenizer moved = std::move(t);
  EXPECT_THAT(moved.Encode(texts[0]), ElementsAreArray(expected[0]));
}

}  // namespace
}  // namespace nmoe::tokenizer
