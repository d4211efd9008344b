#include "common/progress_meter.h"
#include "common/task.h"

#include <gtest/gtest.h>

#include <vector>

namespace nmoe {
namespace {

TEST(ProgressMeterTest, ThrottlesAndMeasuresTheRate) {
  FakeClock clock;
  std::vector<v1::Progress> sent;
  ProgressMeter meter("pretrain", "steps", 100, [&](const v1::Progress& p) { sent.push_back(p); }, &clock,
                      absl::Seconds(1));
  EXPECT_TRUE(meter.Update(0));  // the first report always goes
  clock.Advance(absl::Milliseconds(500));
  EXPECT_FALSE(meter.Update(5));  // within the interval
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(meter.Update(10, {{"loss", 2.5}}));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].stage(), "pretrain");
  EXPECT_EQ(sent[1].unit(), "steps");
  EXPECT_EQ(sent[1].done(), 10u);
  EXPECT_EQ(sent[1].total(), 100u);
  EXPECT_DOUBLE_EQ(sent[1].rate_per_second(), 10.0);  // 10 steps in 1 s
  EXPECT_DOUBLE_EQ(sent[1].metrics().at("loss"), 2.5);
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(meter.Update(30));
  EXPECT_DOUBLE_EQ(sent[2].rate_per_second(), 0.7 * 10 + 0.3 * 20);  // moving average
  clock.Advance(absl::Milliseconds(10));
  EXPECT_TRUE(meter.Update(100));  // the last report always goes
  EXPECT_EQ(sent.back().done(), 100u);
}

TEST(TaskContextTest, ResolvesRelativePathsUnderTheWorkDir) {
  TaskContext ctx;
  ctx.work_dir = "/data/run";
  EXPECT_EQ(ctx.Resolve("corpus/en.txt"), std::filesystem::path("/data/run/corpus/en.txt"));
  EXPECT_EQ(ctx.Resolve("/abs/x"), std::filesystem::path("/abs/x"));
  EXPECT_FALSE(ctx.StopRequested());
  std::atomic<bool> stop{true};
  ctx.stop = &stop;
  EXPECT_TRUE(ctx.StopRequested());
}

}  // namespace
}  // namespace nmoe
