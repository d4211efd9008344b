// nmoe-run as a child process: a tiny pretraining job over the committed sample corpus
// (tests/data/corpus) runs to the Hugging Face layout and an eval.json better than a
// uniform model; SIGTERM mid-run exits 3 with a checkpoint, and the rerun resumes
// from it and follows the uninterrupted run's losses; the evaluate kind writes its
// file next to the model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kVocab = 512;
constexpr int kSteps = 120;

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

std::string PretrainJob(const std::string& output) {
  std::string corpora, heldout;
  for (const char* lang : {"en", "es", "de", "zh", "ja"}) {
    const std::string base = absl::StrCat(SourceDir(), "/tests/data/corpus/", lang);
    absl::StrAppend(&corpora, "      - {language: ", lang, ", paths: [", base, "/train.txt]}\n");
    absl::StrAppend(&heldout, "    - {language: ", lang, ", paths: [", base, "/validation.txt]}\n");
  }
  return absl::StrCat("name: tiny\nresources: {dtype: COMPUTE_DTYPE_FP32}\npretrain:\n  preset: tiny\n",
                      "  tokenizer_vocab_size: ", kVocab, "\n  stage:\n    corpora:\n", corpora,
                      "    sequence_length: 64\n    steps: ", kSteps,
                      "\n    batch_sequences: 8\n    learning_rate: 3.0e-3\n    warmup_steps: 10\n"
                      "    min_lr_ratio: 0.1\n    weight_decay: 0.1\n  heldout:\n",
                      heldout, "  output_path: ", output, "\n  checkpoint_interval_steps: 50\n  seed: 7\n");
}

std::vector<double> Losses(const std::string& metrics_path) {
  std::vector<double> losses;
  std::ifstream in(metrics_path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"].get<size_t>(), losses.size() + 1);
    losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

absl::StatusOr<int> RunJob(const std::string& job, const std::string& log, absl::Duration timeout) {
  auto child = testing::ChildProcess::Start({testing::BuildPath("worker/nmoe-run"), job, "--threads", "1"}, log);
  if (!child.ok()) return child.status();
  return child->Wait(timeout);
}

TEST(NmoeRunTest, PretrainsStopsResumesAndEvaluates) {
  testing::TempDir dir;
  // 1. Uninterrupted.
  std::ofstream(dir.file("a.yaml")) << PretrainJob(dir.file("a"));
  auto code = RunJob(dir.file("a.yaml"), dir.file("a.log"), absl::Seconds(240));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("a.log"));
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "eval.json"}) {
    EXPECT_TRUE(fs::exists(dir.path() / "a" / f)) << f;
  }
  const auto config = nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("a/config.json")));
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["vocab_size"], kVocab);
  const auto eval = nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("a/eval.json")));
  for (const char* lang : {"en", "es", "de", "zh", "ja"}) {
    const double ppl = eval[lang]["perplexity"].get<double>();
    EXPECT_TRUE(std::isfinite(ppl)) << lang;
    EXPECT_LT(ppl, 0.5 * kVocab) << lang << ": no better than a uniform model over the vocabulary";
  }
  const std::vector<double> straight = Losses(dir.file("a/metrics.jsonl"));
  ASSERT_EQ(straight.size(), static_cast<size_t>(kSteps));
  EXPECT_LT(straight.back(), straight.front() - 1.0);

  // 2. SIGTERM mid-run: exit 3 with a checkpoint, then resume to the same losses.
  std::ofstream(dir.file("b.yaml")) << PretrainJob(dir.file("b"));
  {
    auto child = testing::ChildProcess::Start(
        {testing::BuildPath("worker/nmoe-run"), dir.file("b.yaml"), "--threads", "1"}, dir.file("b1.log"));
    ASSERT_TRUE(child.ok());
    ASSERT_TRUE(testing::WaitForFileLines(dir.file("b/metrics.jsonl"), 15, absl::Seconds(120)).ok())
        << ::nmoe::testing::ReadWholeFile(dir.file("b1.log"));
    child->Kill(SIGTERM);
    auto stopped = child->Wait(absl::Seconds(60));
    ASSERT_TRUE(stopped.ok());
    EXPECT_EQ(*stopped, 3) << ::nmoe::testing::ReadWholeFile(dir.file("b1.log"));
  }
  const size_t stopped_at = Losses(dir.file("b/metrics.jsonl")).size();
  ASSERT_LT(stopped_at, static_cast<size_t>(kSteps)) << "the run finished before the signal";
  EXPECT_TRUE(fs::exists(dir.path() / "b" / "checkpoints" / absl::StrCat("step-", stopped_at) / "trainer_state.json"))
      << ::nmoe::testing::ReadWholeFile(dir.file("b1.log"));
  code = RunJob(dir.file("b.yaml"), dir.file("b2.log"), absl::Seconds(240));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("b2.log"));
  const std::string resumed_log = ::nmoe::testing::ReadWholeFile(dir.file("b2.log"));
  EXPECT_THAT(resumed_log, HasSubstr(absl::StrCat("resumed from ", dir.file("b/checkpoints/step-"), stopped_at)));
  EXPECT_THAT(resumed_log, HasSubstr("tokenizer: reusing"));
  const std::vector<double> resumed = Losses(dir.file("b/metrics.jsonl"));
  ASSERT_EQ(resumed.size(), straight.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    EXPECT_NEAR(resumed[i], straight[i], 1e-5 * straight[i]) << "step " << i + 1;
  }
  EXPECT_EQ(nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("b/eval.json")))["en"]["tokens"], eval["en"]["tokens"]);

  // 3. The evaluate kind on the first model.
  std::ofstream(dir.file("e.yaml")) << absl::StrCat(
      "resources: {dtype: COMPUTE_DTYPE_FP32}\nevaluate:\n  model: {path: ", dir.file("a"),
      "}\n  heldout:\n    - {language: en, paths: [", SourceDir(),
      "/tests/data/corpus/en/validation.txt]}\n  sequence_length: 64\n");
  code = RunJob(dir.file("e.yaml"), dir.file("e.log"), absl::Seconds(120));
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("e.log"));
  const auto evaluated = nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("a/eval-local.json")));
  EXPECT_NEAR(evaluated["en"]["nll"].get<double>(), eval["en"]["nll"].get<double>(), 1e-6);
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(dir.file("e.log")), HasSubstr("perplexity"));
}

TEST(NmoeRunTest, BadSpecIsExitCode2) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "pretrain:\n  preset: tiny\n  output_path: out\n";  // no stage
  auto code = RunJob(dir.file("bad.yaml"), dir.file("bad.log"), absl::Seconds(60));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(dir.file("bad.log")), HasSubstr("spec.pretrain.stage"));
}

}  // namespace
}  // namespace nmoe
