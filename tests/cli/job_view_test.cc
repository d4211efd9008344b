#include "cli/job_view.h"

#include <gtest/gtest.h>

namespace nmoe::cli {
namespace {

nmoe::v1::Progress MakeProgress(const std::string& stage, uint64_t done, uint64_t total, const std::string& unit) {
  nmoe::v1::Progress p;
  p.set_stage(stage);
  p.set_done(done);
  p.set_total(total);
  p.set_unit(unit);
  return p;
}

TEST(ProgressSummaryTest, CountsWithAndWithoutTotals) {
  EXPECT_EQ(ProgressSummary(MakeProgress("", 0, 0, "")), "-");
  EXPECT_EQ(ProgressSummary(MakeProgress("train/stage1", 30, 120, "steps")), "train/stage1 30/120 (25%)");
  EXPECT_EQ(ProgressSummary(MakeProgress("pretrain", 300, 0, "steps")), "pretrain 300 steps");
  EXPECT_EQ(ProgressSummary(MakeProgress("profile", 7, 0, "")), "profile 7");
}

TEST(ProgressSummaryTest, StageNameOnlyHasNoTrailingCount) {  // a finished pipeline's progress
  EXPECT_EQ(ProgressSummary(MakeProgress("[15/15] report", 0, 0, "")), "[15/15] report");
}

}  // namespace
}  // namespace nmoe::cli
