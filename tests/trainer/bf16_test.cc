// Issue 10's numerics check: training with bf16 autocast (fp32 master weights and
// optimizer state) follows fp32 training. Tiny preset on real text (the committed
// sample corpus), 100 steps from the same init and batches of 256 tokens. Tolerance
// (measured here: max 0.076 nats at one step, mean 0.016 over the last 20): every step's
// loss within 0.15 nats of fp32's, the mean |difference| over the last 20 steps under
// 0.03 nats, and the mean losses of the last 20 steps within 0.02 nats. (On this project's AVX2 machines bf16 matmuls run on generic code
// at ~1 GFLOP/s, so the small preset's few hundred steps do not fit a test; the
// numbers measured for it are in docs/training.md.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "data/token_shard.h"
#include "model/checkpoint.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/train_test_util.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer.h"
#include "trainer/optimizer.h"
#include "trainer/packed_batches.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {
namespace {

constexpr int kSteps = 100;

std::vector<std::string> SampleLines() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  std::vector<std::string> lines;
  for (const char* lang : {"en", "de", "zh"}) {
    std::ifstream in(std::string(dir != nullptr ? dir : ".") + "/tests/data/corpus/" + lang + "/train.txt");
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  return lines;
}

std::vector<double> Train(const std::string& shard, int64_t vocab, bool bf16) {
  auto lm = *model::NewRandomModel(testing::TinyModelConfig(vocab), 4);
  AdamWSettings adamw;
  adamw.weight_decay = 0.1;
  auto optimizer = BuildAdamW(*lm, adamw);
  PackedBatchSource source(testing::Loader(shard, 64, 9));
  std::vector<double> losses;
  TrainComponents c;
  c.parameters = lm->parameters();
  c.optimizer = optimizer.get();
  c.data = &source;
  c.loss = [&lm](const Batch& b) { return LmLossSum(*lm, b); };
  c.on_step = [&losses](const StepRecord& r) { losses.push_back(r.loss); };
  TrainLoopOptions o;
  o.total_steps = kSteps;
  o.batch_sequences = 4;
  o.schedule.peak_lr = 3e-3;
  o.schedule.warmup_steps = 5;
  o.schedule.total_steps = kSteps;
  o.bf16_autocast = bf16;
  TrainLoop loop(std::move(c), o);
  TaskContext ctx;
  ctx.report_progress = [](const v1::Progress&) {};
  ctx.log = [](v1::LogLevel, const std::string&) {};
  EXPECT_TRUE(loop.Run(ctx).ok());
  return losses;
}

TEST(Bf16TrainingTest, FollowsFp32) {
  nmoe::testing::TempDir dir;
  tokenizer::BpeTrainerOptions bpe;
  bpe.vocab_size = 512;
  auto trainer = tokenizer::BpeTrainer::Create(bpe);
  const auto lines = SampleLines();
  for (const auto& l : lines) trainer->AddText(l);
  auto tok = *tokenizer::Tokenizer::FromJson(*trainer->Train());
  {
    auto writer = *data::TokenShardWriter::Create(dir.file("text.tok"), 512);
    for (const auto& l : lines) ASSERT_TRUE(writer->AddDocument(tok.Encode(l)).ok());
    ASSERT_TRUE(writer->Finish().ok());
  }
  const std::vector<double> fp32 = Train(dir.file("text.tok"), 512, false);
  const std::vector<double> bf16 = Train(dir.file("text.tok"), 512, true);
  ASSERT_EQ(fp32.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(bf16.size(), static_cast<size_t>(kSteps));
  double max_diff = 0, tail = 0, tail_fp32 = 0, tail_bf16 = 0;
  for (int i = 0; i < kSteps; ++i) {
    const double diff = std::abs(bf16[i] - fp32[i]);
    max_diff = std::max(max_diff, diff);
    if (i >= kSteps - 20) {
      tail += diff / 20;
      tail_fp32 += fp32[i] / 20;
      tail_bf16 += bf16[i] / 20;
    }
    EXPECT_LT(diff, 0.15) << "step " << i + 1 << ": fp32 " << fp32[i] << " bf16 " << bf16[i];
  }
  EXPECT_LT(tail, 0.03);
  EXPECT_NEAR(tail_bf16, tail_fp32, 0.02);
  EXPECT_LT(fp32.back(), fp32.front() - 0.5);  // it did learn
  std::cout << "fp32 loss " << fp32.front() << " -> " << fp32.back() << ", bf16 " << bf16.front() << " -> "
            << bf16.back() << "; max |diff| " << max_diff << ", mean |diff| of the last 20 steps " << tail << "\n";
}

}  // namespace
}  // namespace nmoe::trainer
