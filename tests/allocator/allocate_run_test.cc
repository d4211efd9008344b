// The allocate job through the nmoe-run binary: a profile put into
// <work_dir>/results.db beforehand, the plan read back from it.
#include <google/protobuf/util/json_util.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/store_result_sink.h"
#include "tests/allocator/published_inputs.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::allocator {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// nmoe-run JOB --work-dir D reads the profile from D/results.db.
TEST(AllocateThroughNmoeRun, StoresAndWritesThePlan) {
  nmoe::testing::TempDir dir;
  {
    auto sink = storage::StoreResultSink::OpenLocal(dir.file("results.db"));
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE((*sink)->PutProfileSummary(testing::PublishedProfile("job-profile1")).ok());
  }
  v1::JobSpec job;
  job.set_name("allocate");
  v1::AllocateSpec spec;
  spec.set_profile_job_id("job-profile1");
  spec.set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  spec.add_old_languages("en");
  for (const char* l : {"el", "hu", "tr"}) spec.add_new_languages(l);
  *job.mutable_allocate() = spec;
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(job, &json, options).ok());
  std::ofstream(dir.file("job.json")) << json;
  auto child = nmoe::testing::ChildProcess::Start(
      {nmoe::testing::BuildPath("worker/nmoe-run"), dir.file("job.json"), "--work-dir", dir.path().string()},
      dir.file("run.log"));
  ASSERT_TRUE(child.ok()) << child.status();
  auto code = child->Wait(absl::Seconds(120));
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("run.log"));
  auto sink = storage::StoreResultSink::OpenLocal(dir.file("results.db"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto plan = (*sink)->GetPlan("plan-local");
  ASSERT_TRUE(plan.ok() && plan->has_value()) << ::nmoe::testing::ReadWholeFile(dir.file("run.log"));
  EXPECT_EQ(std::vector<uint32_t>((*plan)->experts_per_layer().begin(), (*plan)->experts_per_layer().end()),
            testing::kNeuronMoE);
  EXPECT_TRUE(fs::exists(dir.path() / "plans" / "local" / "plan.json"));
  EXPECT_TRUE(fs::exists(dir.path() / "plans" / "local" / "plan.svg"));
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(dir.file("run.log")), HasSubstr("49 experts in total"));
}

}  // namespace
}  // namespace nmoe::allocator
