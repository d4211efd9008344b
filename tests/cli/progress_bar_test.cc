#include "cli/progress_bar.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/format.h"

namespace nmoe::cli {
namespace {

nmoe::v1::Progress Profile(uint64_t done, uint64_t total, double rate) {
  nmoe::v1::Progress p;
  p.set_stage("profile");
  p.set_done(done);
  p.set_total(total);
  p.set_unit("sentences");
  p.set_rate_per_second(rate);
  (*p.mutable_metrics())["loss"] = 2.31;
  (*p.mutable_metrics())["lr"] = 0.0001;
  return p;
}

TEST(FormatTest, ShortDurations) {
  EXPECT_EQ(FormatShortDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(-5)), "0s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(42)), "42s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(185)), "3m05s");
  EXPECT_EQ(FormatShortDuration(absl::Minutes(123)), "2h03m");
  EXPECT_EQ(FormatShortDuration(absl::Hours(101)), "4d05h");
}

TEST(FormatTest, CountsRatesAndMetrics) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(99999), "99999");
  EXPECT_EQ(FormatCount(123456), "123k");
  EXPECT_EQ(FormatCount(1234567), "1.23M");
  EXPECT_EQ(FormatCount(45600000000), "45.6G");
  EXPECT_EQ(FormatRate(0), "0/s");
  EXPECT_EQ(FormatRate(-3), "0/s");
  EXPECT_EQ(FormatRate(0.25), "0.25/s");
  EXPECT_EQ(FormatRate(45.24), "45.2/s");
  EXPECT_EQ(FormatRate(312.4), "312/s");
  EXPECT_EQ(FormatRate(1234), "1.2k/s");
  EXPECT_EQ(FormatRate(3.4e6), "3.4M/s");
  EXPECT_EQ(FormatMetric(2.31), "2.31");
  EXPECT_EQ(FormatMetric(123456.0), "1.235e+05");
}

TEST(FormatTest, AgesAndTimestamps) {
  google::protobuf::Timestamp t;
  EXPECT_EQ(FormatAge(t, absl::FromUnixSeconds(100)), "-");
  EXPECT_EQ(FormatTimestamp(t), "-");
  t.set_seconds(1714564803);
  EXPECT_EQ(FormatAge(t, absl::FromUnixSeconds(1714564803 + 65)), "1m05s");
  EXPECT_EQ(FormatTimestamp(t), "2024-05-01T12:00:03Z");
}

TEST(EstimateRemainingTest, FromRateAndRemainingUnits) {
  // 3800 left at 45.2/s = 84.07 s, rounded up.
  EXPECT_EQ(EstimateRemaining(Profile(1200, 5000, 45.2)), absl::Seconds(85));
  EXPECT_EQ(EstimateRemaining(Profile(5000, 5000, 45.2)), absl::ZeroDuration());
  EXPECT_EQ(EstimateRemaining(Profile(6000, 5000, 0)), absl::ZeroDuration());
  EXPECT_EQ(EstimateRemaining(Profile(1200, 5000, 0)), std::nullopt);  // no rate yet
  EXPECT_EQ(EstimateRemaining(Profile(1200, 0, 45.2)), std::nullopt);  // unknown total
}

TEST(ProgressLineTest, KnownTotal) {
  EXPECT_EQ(RenderProgressLine(Profile(1200, 5000, 45.2)),
            "profile 1200/5000 sentences (24.0%) 45.2/s ETA 1m25s loss=2.31 lr=0.0001");
}

TEST(ProgressLineTest, UnknownTotalAndNoRate) {
  nmoe::v1::Progress p;
  p.set_stage("train/stage1");
  p.set_done(300);
  p.set_unit("steps");
  p.set_rate_per_second(3.1);
  EXPECT_EQ(RenderProgressLine(p), "train/stage1 300 steps 3.10/s");
  p.set_rate_per_second(0);
  p.set_done(1234567);
  EXPECT_EQ(RenderProgressLine(p), "train/stage1 1.23M steps");
}

TEST(ProgressLineTest, StageOnly) {  // e.g. a finished pipeline: "[15/15] report"
  nmoe::v1::Progress p;
  p.set_stage("[15/15] report");
  EXPECT_EQ(RenderProgressLine(p), "[15/15] report");
  EXPECT_EQ(RenderProgressBar(p, 80), "[15/15] report");
  p.set_unit("steps");
  EXPECT_EQ(RenderProgressLine(p), "[15/15] report 0 steps");
}

TEST(ProgressBarTest, FullLineWhenWide) {
  EXPECT_EQ(RenderProgressBar(Profile(1200, 5000, 45.2), 120),
            "profile [====>               ] 1200/5000 sentences 24% 45.2/s ETA 1m25s "
            "loss=2.31 lr=0.0001");
}

TEST(ProgressBarTest, EmptyAndFullBars) {
  nmoe::v1::Progress p = Profile(0, 10, 0);
  p.clear_metrics();
  EXPECT_EQ(RenderProgressBar(p, 80), "profile [>                   ] 0/10 sentences 0%");
  p.set_done(10);
  EXPECT_EQ(RenderProgressBar(p, 80), "profile [====================] 10/10 sentences 100% ETA 0s");
  p.set_done(12);  // over-reporting never overflows the bar
  EXPECT_EQ(RenderProgressBar(p, 80), "profile [====================] 12/10 sentences 100% ETA 0s");
}

TEST(ProgressBarTest, DropsMetricsEtaRateThenCutsToFit) {
  const nmoe::v1::Progress p = Profile(1200, 5000, 45.2);
  EXPECT_EQ(RenderProgressBar(p, 72),  // 71 columns: metrics dropped
            "profile [====>               ] 1200/5000 sentences 24% 45.2/s ETA 1m25s");
  EXPECT_EQ(RenderProgressBar(p, 62),  // 61 columns: ETA dropped too
            "profile [====>               ] 1200/5000 sentences 24% 45.2/s");
  EXPECT_EQ(RenderProgressBar(p, 60),  // rate dropped
            "profile [====>               ] 1200/5000 sentences 24%");
  EXPECT_EQ(RenderProgressBar(p, 21), "profile [====>      ");
  for (int width : {1, 10, 40, 80, 200}) {
    EXPECT_LE(RenderProgressBar(p, width).size(), static_cast<size_t>(std::max(width - 1, 1)));
  }
}

TEST(ProgressDisplayTest, RedrawsInPlaceAndClears) {
  std::ostringstream terminal;
  ProgressDisplay display(&terminal, 80);
  display.Clear();  // nothing shown yet: writes nothing
  display.Redraw();
  EXPECT_EQ(terminal.str(), "");
  nmoe::v1::Progress p = Profile(5, 10, 0);
  p.clear_metrics();
  display.Update(p);
  EXPECT_EQ(terminal.str(), "\rprofile [==========>         ] 5/10 sentences 50%\x1b[K");
  terminal.str("");
  display.Clear();
  display.Clear();
  EXPECT_EQ(terminal.str(), "\r\x1b[K");
  terminal.str("");
  display.Redraw();
  EXPECT_EQ(terminal.str(), "\rprofile [==========>         ] 5/10 sentences 50%\x1b[K");
}

}  // namespace
}  // namespace nmoe::cli
