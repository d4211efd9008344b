// The MoE train job as a 2-worker gang through the real processes: nmoe-coordinator
// and two nmoe-worker processes on 127.0.0.1. A tiny base is pretrained and a manual
// plan allocated through the same coordinator (so the plan is in its store), then the
// train job (num_workers 2) runs both stages data-parallel: both ranks log the same
// global losses at every step. (Fixture: tests/support/worker_e2e.h.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_e2e.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Corpus(const std::string& lang) {
  return absl::StrCat(testing::SourceDir(), "/tests/data/corpus/", lang, "/train.txt");
}

class TrainGangTest : public testing::WorkerE2eTest {
 protected:
  // Gang members publish 127.0.0.1 for the Gloo rendezvous.
  testing::ChildProcess StartGangWorker(const std::string& name) {
    return StartWorker(name, {"--advertise-host", "127.0.0.1"});
  }

  // Waits for a terminal state; the workers' logs on anything but SUCCEEDED.
  void WaitForSuccess(const std::string& id) {
    const v1::Job job = WaitFor(
        id, [](const v1::Job& j) { return j.state() >= v1::JOB_STATE_SUCCEEDED; }, absl::Seconds(240));
    ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED)
        << job.ShortDebugString() << "\n"
        << testing::ReadWholeFile(WorkerLog("a")) << testing::ReadWholeFile(WorkerLog("b"));
  }
};

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  const std::string text = testing::ReadWholeFile(path);
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (const std::string& l : lines) out.push_back(nlohmann::json::parse(l));
  return out;
}

TEST_F(TrainGangTest, TwoWorkersTrainAnMoeFromAStoredPlan) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  testing::ChildProcess a = StartGangWorker("a");
  testing::ChildProcess b = StartGangWorker("b");

  const std::string pretrain = Submit(absl::StrCat(R"(name: base
resources: {dtype: COMPUTE_DTYPE_FP32}
pretrain:
  preset: tiny
  tokenizer_vocab_size: 512
  stage:
    corpora:
      - {language: en, paths: [)", Corpus("en"), R"(]}
      - {language: el, paths: [)", Corpus("el"), R"(]}
    sequence_length: 32
    batch_sequences: 4
    steps: 4
    learning_rate: 3.0e-3
  output_path: runs/base
  seed: 5
)"));
  ASSERT_NO_FATAL_FAILURE(WaitForSuccess(pretrain));
  const std::string allocate = Submit(R"(name: plan
allocate:
  strategy: ALLOCATION_STRATEGY_MANUAL
  manual_experts: [1, 3, 1, 2]
  old_languages: [en]
  new_languages: [el]
)");
  ASSERT_NO_FATAL_FAILURE(WaitForSuccess(allocate));
  ASSERT_TRUE(allocate.starts_with("job-")) << allocate;
  const std::string plan_id = "plan-" + allocate.substr(4);  // allocator/allocate_task.h PlanIdForJob

  const std::string train = Submit(absl::StrCat(R"(name: moe
resources: {dtype: COMPUTE_DTYPE_FP32, num_workers: 2}
train:
  base_model: {path: runs/base}
  plan_id: )", plan_id, R"(
  output_path: runs/moe
  seed: 7
  stages:
    - name: experts
      trainable: TRAINABLE_EXPERTS_AND_ROUTERS
      corpora: [{language: el, paths: [)", Corpus("el"), R"(]}]
      sequence_length: 32
      batch_sequences: 4
      steps: 4
      learning_rate: 1.0e-2
    - name: routers
      trainable: TRAINABLE_ROUTERS
      corpora:
        - {language: el, paths: [)", Corpus("el"), R"(]}
        - {language: en, paths: [)", Corpus("en"), R"(]}
      old_languages: [en]
      sequence_length: 32
      batch_sequences: 4
      steps: 3
      learning_rate: 1.0e-2
)"));
  ASSERT_NO_FATAL_FAILURE(WaitForSuccess(train));
  EXPECT_TRUE(fs::exists(dir_.file("runs/moe/config.json")));
  EXPECT_TRUE(fs::exists(dir_.file("runs/moe/model.safetensors")));
  const auto config = nlohmann::json::parse(testing::ReadWholeFile(dir_.file("runs/moe/config.json")));
  EXPECT_EQ(config["nmoe_experts_per_layer"], nlohmann::json({1, 3, 1, 2}));

  for (const auto& [stage, steps] : {std::pair<std::string, size_t>{"1-experts", 4}, {"2-routers", 3}}) {
    const auto r0 = Lines(dir_.file("runs/moe/stages/" + stage + "/metrics.jsonl"));
    const auto r1 = Lines(dir_.file("runs/moe/rank-1/stages/" + stage + "/metrics.jsonl"));
    ASSERT_EQ(r0.size(), steps) << stage;
    ASSERT_EQ(r1.size(), steps) << stage;
    for (size_t i = 0; i < steps; ++i) {
      // Global figures: summed over the gang, so identical on both ranks.
      EXPECT_EQ(r0[i]["loss"], r1[i]["loss"]) << stage << " step " << i + 1;
      EXPECT_EQ(r0[i]["tokens"], r1[i]["tokens"]) << stage << " step " << i + 1;
      EXPECT_EQ(r0[i]["grad_norm"], r1[i]["grad_norm"]) << stage << " step " << i + 1;
    }
  }
  const std::string logs = testing::ReadWholeFile(dir_.file("a.log")) + testing::ReadWholeFile(dir_.file("b.log"));
  EXPECT_THAT(logs, HasSubstr("rank 0 of 2"));
  EXPECT_THAT(logs, HasSubstr("rank 1 of 2"));
}

}  // namespace
}  // namespace nmoe
