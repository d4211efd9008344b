#include "trainer/lr_schedule.h"

#include <gtest/gtest.h>

namespace nmoe::trainer {
namespace {

TEST(LrScheduleTest, WarmupRampsLinearlyToThePeak) {
  LrSchedule s{.peak_lr = 1e-3, .warmup_steps = 4, .total_steps = 10, .min_lr_ratio = 0.1};
  EXPECT_DOUBLE_EQ(s.At(0), 0.25e-3);
  EXPECT_DOUBLE_EQ(s.At(1), 0.5e-3);
  EXPECT_DOUBLE_EQ(s.At(3), 1e-3);
}

TEST(LrScheduleTest, CosineDecaysFromPeakToFloorHandWorked) {
  // 5 decay steps (4..8): progress 0, 1/4, 1/2, 3/4, 1 -> cos factor 1, .85355, .5, .14645, 0.
  LrSchedule s{.peak_lr = 1.0, .warmup_steps = 4, .total_steps = 9, .min_lr_ratio = 0.2};
  EXPECT_DOUBLE_EQ(s.At(4), 1.0);
  EXPECT_NEAR(s.At(5), 0.2 + 0.8 * 0.8535533905932737, 1e-12);
  EXPECT_NEAR(s.At(6), 0.6, 1e-12);
  EXPECT_NEAR(s.At(7), 0.2 + 0.8 * 0.14644660940672627, 1e-12);
  EXPECT_NEAR(s.At(8), 0.2, 1e-12);
  EXPECT_NEAR(s.At(100), 0.2, 1e-12);  // past the end: the floor
}

TEST(LrScheduleTest, NoWarmupStartsAtPeak) {
  LrSchedule s{.peak_lr = 2.0, .warmup_steps = 0, .total_steps = 3, .min_lr_ratio = 0.0};
  EXPECT_DOUBLE_EQ(s.At(0), 2.0);
  EXPECT_NEAR(s.At(1), 1.0, 1e-12);
  EXPECT_NEAR(s.At(2), 0.0, 1e-12);
}

TEST(LrScheduleTest, DegenerateLengths) {
  LrSchedule one{.peak_lr = 1.0, .warmup_steps = 0, .total_steps = 1, .min_lr_ratio = 0.5};
  EXPECT_DOUBLE_EQ(one.At(0), 1.0);
  LrSchedule all_warmup{.peak_lr = 1.0, .warmup_steps = 2, .total_steps = 2, .min_lr_ratio = 0.5};
  EXPECT_DOUBLE_EQ(all_warmup.At(1), 1.0);
  EXPECT_DOUBLE_EQ(all_warmup.At(2), 0.5);
}

}  // namespace
}  // namespace nmoe::trainer
