// The training loop: learning, gradient accumulation, clipping, checkpoints, stop and
// resume (the losses of a resumed run equal the uninterrupted run's), corrupt
// checkpoints, a gang's ranks agreeing on the step to resume from, divergence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "model/config.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/train_test_util.h"
#include "tests/comm/rank_threads.h"
#include "trainer/data_parallel.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/presets.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kVocab = 64;

// One training run's objects; a fresh Run object is a fresh process.
struct TrainRun {
  std::shared_ptr<model::CausalLm> lm;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<PackedBatchSource> source;
  std::unique_ptr<CheckpointStore> store;
  std::unique_ptr<TrainLoop> loop;
  std::vector<double> losses;       // by step (index = step - 1), only steps run here
  std::vector<double> grad_norms;
  std::vector<std::string> warnings;
  std::atomic<bool> stop{false};
  uint64_t stop_after = 0;          // request a stop after this step (0 = never)
  TaskContext ctx;

  TrainRun(const std::string& shard, const std::string& ckpt_dir, TrainLoopOptions options, uint64_t seed = 5,
      bool sgd = false, DataParallel* data_parallel = nullptr) {
    lm = *model::NewRandomModel(testing::TinyModelConfig(kVocab), seed);
    if (sgd) {
      optimizer = std::make_unique<torch::optim::SGD>(lm->parameters(), torch::optim::SGDOptions(1.0));
    } else {
      AdamWSettings adamw;
      adamw.weight_decay = 0.1;
      optimizer = BuildAdamW(*lm, adamw);
    }
    source = std::make_unique<PackedBatchSource>(testing::Loader(shard, 32, 11));
    if (!ckpt_dir.empty()) store = std::make_unique<CheckpointStore>(ckpt_dir, 2);
    TrainComponents c;
    c.parameters = lm->parameters();
    c.optimizer = optimizer.get();
    c.data = source.get();
    c.loss = [this](const Batch& b) { return LmLossSum(*lm, b); };
    c.save_model = [this](const fs::path& dir) { return model::SavePretrained(*lm, dir.string()); };
    c.load_model = [this](const fs::path& dir) -> absl::Status {
      auto checkpoint = safetensors::Checkpoint::Open(dir.string());
      if (!checkpoint.ok()) return checkpoint.status();
      return model::LoadWeightsInto(*lm, **checkpoint, true).status();
    };
    c.checkpoints = store.get();
    c.data_parallel = data_parallel;
    c.on_step = [this](const StepRecord& r) {
      losses.resize(r.step, 0.0);
      grad_norms.resize(r.step, 0.0);
      losses[r.step - 1] = r.loss;
      grad_norms[r.step - 1] = r.grad_norm;
      if (stop_after != 0 && r.step == stop_after) stop = true;
    };
    loop = std::make_unique<TrainLoop>(std::move(c), options);
    ctx.report_progress = [](const v1::Progress&) {};
    ctx.log = [this](v1::LogLevel level, const std::string& text) {
      if (level == v1::LOG_LEVEL_WARNING) warnings.push_back(text);
    };
    ctx.stop = &stop;
  }
};

TrainLoopOptions Options(uint64_t steps, int64_t batch = 4, int64_t accumulation = 1) {
  TrainLoopOptions o;
  o.total_steps = steps;
  o.batch_sequences = batch;
  o.grad_accumulation = accumulation;
  o.schedule.peak_lr = 3e-3;
  o.schedule.warmup_steps = 2;
  o.schedule.total_steps = steps;
  o.schedule.min_lr_ratio = 0.1;
  o.fingerprint = "test-run";
  return o;
}

class TrainLoopTest : public ::testing::Test {
 protected:
  void SetUp() override { shard_ = testing::WriteCountingShard(dir_.file("train.tok"), kVocab, 300, 3); }
  nmoe::testing::TempDir dir_;
  std::string shard_;
};

TEST_F(TrainLoopTest, LearnsCountingText) {
  TrainRun run(shard_, "", Options(40));
  ASSERT_TRUE(run.loop->Run(run.ctx).ok());
  ASSERT_EQ(run.losses.size(), 40u);
  EXPECT_NEAR(run.losses.front(), std::log(static_cast<double>(kVocab)), 0.3);  // ~uniform at the start
  EXPECT_LT(run.losses.back(), 0.5 * run.losses.front());
}

TEST_F(TrainLoopTest, AccumulationDoesNotChangeTheStep) {
  TrainRun whole(shard_, "", Options(3, 4, 1));
  TrainRun halves(shard_, "", Options(3, 4, 2));
  TrainRun quarters(shard_, "", Options(3, 4, 4));
  ASSERT_TRUE(whole.loop->Run(whole.ctx).ok());
  ASSERT_TRUE(halves.loop->Run(halves.ctx).ok());
  ASSERT_TRUE(quarters.loop->Run(quarters.ctx).ok());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(halves.losses[i], whole.losses[i], 1e-5 * whole.losses[i]) << "step " << i + 1;
    EXPECT_NEAR(quarters.losses[i], whole.losses[i], 1e-5 * whole.losses[i]) << "step " << i + 1;
    EXPECT_NEAR(halves.grad_norms[i], whole.grad_norms[i], 1e-4 * whole.grad_norms[i]) << "step " << i + 1;
  }
}

TEST_F(TrainLoopTest, StopSavesAndResumeFollowsTheSameLosses) {
  TrainRun straight(shard_, dir_.file("straight"), Options(12));
  ASSERT_TRUE(straight.loop->Run(straight.ctx).ok());

  TrainRun first(shard_, dir_.file("split"), Options(12));
  first.stop_after = 6;
  const absl::Status stopped = first.loop->Run(first.ctx);
  EXPECT_TRUE(absl::IsCancelled(stopped)) << stopped;
  EXPECT_TRUE(fs::exists(dir_.file("split") + "/step-6/trainer_state.json"));

  TrainRun second(shard_, dir_.file("split"), Options(12), /*seed=*/99);  // other init: weights must come from the checkpoint
  auto resumed = second.loop->Resume(second.ctx);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(*resumed, 6u);
  ASSERT_TRUE(second.loop->Run(second.ctx).ok());
  ASSERT_EQ(second.losses.size(), 12u);
  for (size_t i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(first.losses[i], straight.losses[i]) << "step " << i + 1;
  for (size_t i = 6; i < 12; ++i) {
    EXPECT_NEAR(second.losses[i], straight.losses[i], 1e-6 * straight.losses[i]) << "step " << i + 1;
  }
  EXPECT_EQ(second.loop->tokens_seen(), straight.loop->tokens_seen());
}

TEST_F(TrainLoopTest, KeepsTheLastTwoAndSkipsACorruptOne) {
  TrainRun straight(shard_, dir_.file("straight"), Options(6));
  ASSERT_TRUE(straight.loop->Run(straight.ctx).ok());

  TrainLoopOptions options = Options(6);
  options.checkpoint_interval = 2;
  TrainRun first(shard_, dir_.file("ckpt"), options);
  ASSERT_TRUE(first.loop->Run(first.ctx).ok());
  CheckpointStore store(dir_.file("ckpt"));
  const auto listed = store.List();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].filename(), "step-6");
  EXPECT_EQ(listed[1].filename(), "step-4");

  {  // Flip one byte in the middle of the newest weights.
    std::fstream f(listed[0] / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::streamoff>(f.tellg());
    f.seekg(size / 2);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(size / 2);
    f.write(&c, 1);
  }
  auto verified = CheckpointStore::Verify(listed[0]);
  EXPECT_TRUE(absl::IsDataLoss(verified.status())) << verified.status();
  EXPECT_THAT(std::string(verified.status().message()), HasSubstr("model.safetensors"));

  TrainRun second(shard_, dir_.file("ckpt"), options);
  auto resumed = second.loop->Resume(second.ctx);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(*resumed, 4u);
  ASSERT_EQ(second.warnings.size(), 1u);
  EXPECT_THAT(second.warnings[0], HasSubstr("step-6"));
  ASSERT_TRUE(second.loop->Run(second.ctx).ok());
  for (size_t i = 4; i < 6; ++i) EXPECT_NEAR(second.losses[i], straight.losses[i], 1e-6 * straight.losses[i]);

  // A truncated state file is corrupt too.
  fs::resize_file(listed[1] / "trainer_state.json", 10);
  EXPECT_TRUE(absl::IsDataLoss(CheckpointStore::Verify(listed[1]).status()));
}

// Two ranks (threads, real Gloo over loopback), each with its own checkpoint folder as
// in a gang (rank r > 0 under <output>/rank-r). `prepare` runs between a first run of
// `steps` (a checkpoint every 2 steps) and a resumed run of the same spec; returns the
// resumed step per rank, after checking that the resumed losses equal the first run's.
class GangResumeTest : public TrainLoopTest {
 protected:
  std::vector<uint64_t> RunThenResume(uint64_t steps, const std::function<void()>& prepare) {
    TrainLoopOptions options = Options(steps);
    options.checkpoint_interval = 2;
    std::vector<std::unique_ptr<TrainRun>> first(2), second(2);
    std::vector<uint64_t> resumed(2, 0);
    auto run = [&](std::vector<std::unique_ptr<TrainRun>>& runs, bool resume, const std::string& prefix) {
      comm::InMemoryRendezvousStore store;
      const auto statuses = comm::testing::RunRanks(
          2, store, comm::testing::LoopbackOptions(prefix), [&](comm::Communicator& comm) -> absl::Status {
            DataParallel dp(&comm);
            auto& r = runs[static_cast<size_t>(comm.rank())];
            r = std::make_unique<TrainRun>(shard_, Folder(comm.rank()), options, 5, false, &dp);
            if (resume) {
              auto step = r->loop->Resume(r->ctx);
              if (!step.ok()) return step.status();
              resumed[static_cast<size_t>(comm.rank())] = *step;
            }
            return r->loop->Run(r->ctx);
          });
      for (const absl::Status& s : statuses) EXPECT_TRUE(s.ok()) << s;
    };
    run(first, false, "first");
    prepare();
    run(second, true, "second");
    for (size_t rank = 0; rank < 2; ++rank) {
      EXPECT_EQ(second[rank]->losses.size(), steps);
      for (size_t i = resumed[rank]; i < steps && i < second[rank]->losses.size(); ++i) {
        EXPECT_NEAR(second[rank]->losses[i], first[rank]->losses[i], 1e-6 * first[rank]->losses[i])
            << "rank " << rank << " step " << i + 1;
      }
      warnings_[rank] = second[rank]->warnings;
    }
    return resumed;
  }
  std::string Folder(int rank) const { return dir_.file(absl::StrCat("gang/rank-", rank)); }
  std::vector<std::string> warnings_[2];
};

TEST_F(GangResumeTest, RanksResumeFromTheNewestStepEveryRankHolds) {
  // Rank 1 was killed while writing step 6: its newest checkpoint is step 4.
  const auto resumed = RunThenResume(6, [&] { fs::remove_all(Folder(1) + "/step-6"); });
  EXPECT_EQ(resumed, std::vector<uint64_t>({4, 4}));
  // Rank 0's step 6 is past the common step: removed (the resumed run writes it again).
  ASSERT_EQ(warnings_[0].size(), 1u);
  EXPECT_THAT(warnings_[0][0], HasSubstr("removed checkpoint " + Folder(0) + "/step-6"));
  EXPECT_THAT(warnings_[0][0], HasSubstr("the gang resumes from step 4"));
  EXPECT_TRUE(warnings_[1].empty());
}

TEST_F(GangResumeTest, ACorruptNewestCheckpointMovesTheGangBackOneInterval) {
  const auto resumed = RunThenResume(6, [&] { fs::resize_file(Folder(0) + "/step-6/trainer_state.json", 5); });
  EXPECT_EQ(resumed, std::vector<uint64_t>({4, 4}));
  ASSERT_EQ(warnings_[0].size(), 2u);  // the corrupt step 6 is skipped, then removed
  EXPECT_THAT(warnings_[0][0], HasSubstr("skipping corrupt checkpoint " + Folder(0) + "/step-6"));
  EXPECT_THAT(warnings_[0][1], HasSubstr("removed checkpoint " + Folder(0) + "/step-6"));
  ASSERT_EQ(warnings_[1].size(), 1u);
  EXPECT_THAT(warnings_[1][0], HasSubstr("removed checkpoint " + Folder(1) + "/step-6"));
}

TEST_F(GangResumeTest, NoCommonCheckpointMeansAFreshStartForAll) {
  // Rank 1 kept nothing (e.g. its folder was lost); rank 0 has steps 2 and 4.
  const auto resumed = RunThenResume(4, [&] { fs::remove_all(Folder(1)); });
  EXPECT_EQ(resumed, std::vector<uint64_t>({0, 0}));
  ASSERT_EQ(warnings_[0].size(), 2u);  // step-4 and step-2 removed
  EXPECT_THAT(warnings_[0][0], HasSubstr("removed checkpoint " + Folder(0) + "/step-4"));
  EXPECT_THAT(warnings_[0][1], HasSubstr("removed checkpoint " + Folder(0) + "/step-2"));
}

TEST_F(TrainLoopTest, RefusesAnotherRunsCheckpoint) {
  TrainRun first(shard_, dir_.file("ckpt"), Options(2));
  ASSERT_TRUE(first.loop->Run(first.ctx).ok());
  TrainLoopOptions other = Options(2);
  other.fingerprint = "another-run";
  TrainRun second(shard_, dir_.file("ckpt"), other);
  auto resumed = second.loop->Resume(second.ctx);
  EXPECT_TRUE(absl::IsFailedPrecondition(resumed.status())) << resumed.status();
  EXPECT_THAT(std::string(resumed.status().message()), HasSubstr("another run"));
}

TEST_F(TrainLoopTest, ClipsTheGlobalNorm) {
  TrainLoopOptions options = Options(1);
  options.grad_clip = 0.01;
  options.schedule.warmup_steps = 0;
  options.schedule.peak_lr = 1.0;
  TrainRun run(shard_, "", options, 5, /*sgd=*/true);
  std::vector<at::Tensor> before;
  for (const auto& p : run.lm->parameters()) before.push_back(p.detach().clone());
  ASSERT_TRUE(run.loop->Run(run.ctx).ok());
  double delta_sq = 0;
  const auto after = run.lm->parameters();
  for (size_t i = 0; i < before.size(); ++i) delta_sq += (after[i] - before[i]).pow(2).sum().item<double>();
  EXPECT_GT(run.grad_norms[0], 0.01);                 // the reported norm is before clipping
  EXPECT_NEAR(std::sqrt(delta_sq), 0.01, 1e-5);       // SGD lr 1: the update is the clipped gradient
}

TEST_F(TrainLoopTest, NonFiniteLossFails) {
  TrainRun run(shard_, "", Options(3));
  TrainComponents c;
  // Rebuild the loop with a loss that blows up.
  c.parameters = run.lm->parameters();
  c.optimizer = run.optimizer.get();
  c.data = run.source.get();
  c.loss = [&run](const Batch& b) -> absl::StatusOr<at::Tensor> {
    auto loss = LmLossSum(*run.lm, b);
    if (!loss.ok()) return loss;
    return *loss * std::numeric_limits<float>::infinity();
  };
  TrainLoop loop(std::move(c), Options(3));
  const absl::Status s = loop.Run(run.ctx);
  EXPECT_TRUE(absl::IsInternal(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("diverged at step 1"));
}

TEST(OptimizerTest, DecayOnlyOnMatrices) {
  auto lm = *model::NewRandomModel(testing::TinyModelConfig(kVocab), 1);
  AdamWSettings settings;
  settings.weight_decay = 0.1;
  auto adamw = BuildAdamW(*lm, settings);
  ASSERT_EQ(adamw->param_groups().size(), 2u);
  const auto& decay = adamw->param_groups()[0];
  const auto& plain = adamw->param_groups()[1];
  EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamWOptions&>(decay.options()).weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(static_cast<const torch::optim::AdamWOptions&>(plain.options()).weight_decay(), 0.0);
  for (const auto& p : decay.params()) EXPECT_GE(p.dim(), 2);
  for (const auto& p : plain.params()) EXPECT_EQ(p.dim(), 1);
  // Tied embeddings: every parameter once. 4 layers x (2 norms) + final norm = 9 vectors.
  EXPECT_EQ(plain.params().size(), 9u);
  EXPECT_EQ(decay.params().size() + plain.params().size(), lm->parameters().size());
}

TEST(PresetTest, KnownPresets) {
  auto tiny = PresetConfig("tiny", 512, 509, 510);
  ASSERT_TRUE(tiny.ok());
  EXPECT_TRUE(model::ValidateModelConfig(*tiny).ok());
  EXPECT_TRUE(tiny->tie_word_embeddings);
  EXPECT_FALSE(tiny->rope_scaling.has_value());
  EXPECT_EQ(tiny->bos_token_id, 509);
  auto small = PresetConfig("small", 8192);
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(model::ValidateModelConfig(*small).ok());
  EXPECT_EQ(small->num_hidden_layers, 8);
  EXPECT_GT(small->NumParameters(), 2'000'000);   // "a few million"
  EXPECT_LT(small->NumParameters(), 12'000'000);
  auto unknown = PresetConfig("huge", 8192);
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status()));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("tiny, small"));
}

}  // namespace
}  // namespace nmoe::trainer
