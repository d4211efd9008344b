// StoreResultSink::OpenLocal: what a task writes is there after the sink (and its
// RocksDB) is closed and opened again -- nmoe-run's allocate job reads the profile
// job's summary this way.
#include "storage/store_result_sink.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace nmoe::storage {
namespace {

TEST(StoreResultSinkTest, SurvivesReopen) {
  nmoe::testing::TempDir dir;
  const std::string path = (dir.path() / "results.db").string();
  {
    auto sink = StoreResultSink::OpenLocal(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    v1::ProfileSummary summary;
    summary.set_job_id("job-1");
    summary.add_languages()->set_language("el");
    ASSERT_TRUE((*sink)->PutProfileSummary(summary).ok());
    v1::Plan plan;
    plan.set_id("plan-1");
    plan.add_experts_per_layer(3);
    ASSERT_TRUE((*sink)->PutPlan(plan).ok());
  }
  auto sink = StoreResultSink::OpenLocal(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto summary = (*sink)->GetProfileSummary("job-1");
  ASSERT_TRUE(summary.ok() && summary->has_value());
  EXPECT_EQ((*summary)->languages(0).language(), "el");
  auto missing = (*sink)->GetProfileSummary("job-2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto plan = (*sink)->GetPlan("plan-1");
  ASSERT_TRUE(plan.ok() && plan->has_value());
  EXPECT_EQ((*plan)->experts_per_layer(0), 3u);
}

}  // namespace
}  // namespace nmoe::storage
