// The MoE chain through nmoe-run child processes sharing one work dir (and so one
// results.db): pretrain a tiny base -> allocate a manual plan -> train two stages ->
// evaluate the trained MoE checkpoint. The stored v1::Evaluation is read back from
// <work_dir>/results.db and checked against the job's own eval json and the plan.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "storage/store_result_sink.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;

std::string Corpus(const std::string& lang, const std::string& split) {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/tests/data/corpus/", lang, "/", split, ".txt");
}

// Runs one job file with nmoe-run in `work`; the log on failure.
void RunJob(const testing::TempDir& work, const std::string& name, const std::string& yaml) {
  const std::string job = work.file(name + ".yaml"), log = work.file(name + ".log");
  std::ofstream(job) << yaml;
  auto child = testing::ChildProcess::Start(
      {testing::BuildPath("worker/nmoe-run"), job, "--work-dir", work.path().string(), "--threads", "1"}, log);
  ASSERT_TRUE(child.ok()) << child.status();
  auto code = child->Wait(absl::Seconds(240));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << name << ":\n" << testing::ReadWholeFile(log);
}

TEST(MoePipelineRunTest, EvaluateStoresPerplexityAndRoutingOfTheTrainedMoe) {
  testing::TempDir work;
  RunJob(work, "pretrain", absl::StrCat(R"(resources: {dtype: COMPUTE_DTYPE_FP32}
pretrain:
  preset: tiny
  tokenizer_vocab_size: 512
  stage:
    corpora:
      - {language: en, paths: [)", Corpus("en", "train"), R"(]}
      - {language: el, paths: [)", Corpus("el", "train"), R"(]}
    sequence_length: 32
    batch_sequences: 4
    steps: 6
    learning_rate: 3.0e-3
  output_path: base
  seed: 5
)"));
  RunJob(work, "allocate", R"(allocate:
  strategy: ALLOCATION_STRATEGY_MANUAL
  manual_experts: [1, 3, 1, 2]
  old_languages: [en]
  new_languages: [el]
)");
  RunJob(work, "train", absl::StrCat(R"(resources: {dtype: COMPUTE_DTYPE_FP32}
train:
  base_model: {path: base}
  plan_id: plan-local
  output_path: moe
  seed: 7
  stages:
    - name: experts
      trainable: TRAINABLE_EXPERTS_AND_ROUTERS
      corpora: [{language: el, paths: [)", Corpus("el", "train"), R"(]}]
      sequence_length: 32
      batch_sequences: 4
      steps: 4
      learning_rate: 1.0e-2
    - name: routers
      trainable: TRAINABLE_ROUTERS
      corpora:
        - {language: el, paths: [)", Corpus("el", "train"), R"(]}
        - {language: en, paths: [)", Corpus("en", "train"), R"(]}
      old_languages: [en]
      sequence_length: 32
      batch_sequences: 4
      steps: 3
      learning_rate: 1.0e-2
)"));
  RunJob(work, "evaluate", absl::StrCat(R"(resources: {dtype: COMPUTE_DTYPE_FP32}
evaluate:
  model: {path: moe}
  heldout:
    - {language: en, paths: [)", Corpus("en", "validation"), R"(]}
    - {language: el, paths: [)", Corpus("el", "validation"), R"(]}
  sequence_length: 64
  max_tokens_per_language: 2000
  old_languages: [en]
)"));
  const std::string log = testing::ReadWholeFile(work.file("evaluate.log"));
  EXPECT_THAT(log, ::testing::HasSubstr("routing (token share per expert"));

  auto sink = storage::StoreResultSink::OpenLocal(work.file("results.db"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto stored = (*sink)->GetEvaluation("local");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value()) << log;
  const v1::Evaluation& e = **stored;
  EXPECT_EQ(e.model_path(), "moe");
  EXPECT_THAT(e.experts_per_layer(), ::testing::ElementsAre(1u, 3u, 1u, 2u));
  EXPECT_GT(e.parameters(), 0u);

  // Languages: the same numbers as the eval json next to the model.
  const auto json = nlohmann::json::parse(testing::ReadWholeFile(work.file("moe/eval-local.json")));
  ASSERT_EQ(e.languages_size(), 2);
  uint64_t tokens[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const v1::LanguageEvaluation& l = e.languages(i);
    EXPECT_EQ(l.language(), i == 0 ? "en" : "el");
    EXPECT_EQ(l.tokens(), json[l.language()]["tokens"].get<uint64_t>());
    EXPECT_GT(l.tokens(), 500u);  // the sample's el validation text has ~1,300 at vocabulary 512
    EXPECT_LE(l.tokens(), 2000u);
    EXPECT_DOUBLE_EQ(l.perplexity(), json[l.language()]["perplexity"].get<double>());
    EXPECT_GT(l.unigram_perplexity(), 1.0);
    tokens[i] = l.tokens();
  }

  // Routing: layers 1 (top-2 of 3) and 3 (2 experts: every token to both).
  ASSERT_EQ(e.routing_size(), 2);
  const v1::LayerRouting& l1 = e.routing(0);
  const v1::LayerRouting& l3 = e.routing(1);
  EXPECT_EQ(l1.layer(), 1u);
  EXPECT_EQ(l1.num_experts(), 3u);
  EXPECT_EQ(l1.top_k(), 2u);
  EXPECT_EQ(l3.layer(), 3u);
  ASSERT_EQ(l1.experts_size(), 3);
  ASSERT_EQ(l3.experts_size(), 2);
  uint64_t slots = 0;
  double share = 0;
  for (const v1::ExpertRouting& x : l1.experts()) {
    slots += x.assignments();
    share += x.token_share();
    EXPECT_EQ(x.share_by_language_size(), 2);
  }
  EXPECT_NEAR(share, 1.0, 1e-12);
  // Every input token twice: at least the predicted tokens (BOS targets are not
  // predicted but their inputs are routed), at most one more per language window start.
  EXPECT_GE(slots, 2 * (tokens[0] + tokens[1]));
  EXPECT_LE(slots, 2 * (tokens[0] + tokens[1]) * 3 / 2);
  for (const v1::ExpertRouting& x : l3.experts()) {
    EXPECT_DOUBLE_EQ(x.token_share(), 0.5);
    EXPECT_DOUBLE_EQ(x.share_by_language().at("el"), 0.5);
  }
  EXPECT_EQ(l3.experts(0).assignments() + l3.experts(1).assignments(), slots);
  ASSERT_TRUE(l1.has_old_language_expert0_share());
  // Of en's tokens, those with expert 0 in their top 2: its share of en's pairs x 2.
  EXPECT_DOUBLE_EQ(l1.old_language_expert0_share(), 2 * l1.experts(0).share_by_language().at("en"));
  EXPECT_DOUBLE_EQ(l3.old_language_expert0_share(), 1.0);  // 2 experts, top-2: every token uses expert 0
  EXPECT_EQ(l3.dead_experts(), 0u);
}

}  // namespace
}  // namespace nmoe
