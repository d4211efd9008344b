// Profiling metrics (profiler/profile_metrics.h): the series one task exports into a
// real prometheus-cpp registry and their removal; and the profile task itself run
// in-process on a tiny random model and the committed sample corpus, with the
// registry read at every progress report while the task runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "profiler/profile_metrics.h"
#include "profiler/profile_task.h"
#include "storage/store_result_sink.h"
#include "tests/profiler/tiny_model.h"
#include "tests/support/registry_values.h"
#include "tests/support/temp_dir.h"

namespace nmoe::profiler {
namespace {

namespace fs = std::filesystem;

using ::nmoe::testing::RegistryValues;

TEST(ProfileMetricsTest, ExportsATaskAndRemovesItsSeries) {
  prometheus::Registry registry;
  {
    ProfileMetrics m(&registry, "job-4", 1, 300);
    auto got = RegistryValues(registry);
    EXPECT_EQ(got.at("nmoe_profile_sentences{job_id=job-4,rank=1,}"), 300);
    EXPECT_EQ(got.at("nmoe_profile_sentences_done{job_id=job-4,rank=1,}"), 0);
    EXPECT_EQ(got.at("nmoe_profile_tokens_per_second{job_id=job-4,rank=1,}"), 0);
    m.Record(120, 5000, 2.0);
    got = RegistryValues(registry);
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(got.at("nmoe_profile_sentences{job_id=job-4,rank=1,}"), 300);
    EXPECT_EQ(got.at("nmoe_profile_sentences_done{job_id=job-4,rank=1,}"), 120);
    EXPECT_EQ(got.at("nmoe_profile_tokens_per_second{job_id=job-4,rank=1,}"), 2500);
    m.Record(121, 5001, 0.0);  // no elapsed time: the rate keeps its last value
    EXPECT_EQ(RegistryValues(registry).at("nmoe_profile_tokens_per_second{job_id=job-4,rank=1,}"), 2500);
  }
  EXPECT_TRUE(RegistryValues(registry).empty());  // the task ended: no series of it is left
  ProfileMetrics none(nullptr, "job-5", 0, 10);  // nothing exported, no crash
  none.Record(1, 2, 3);
}

std::string Corpus(const std::string& lang) { return testing::SampleCorpus(lang); }

// tokenizer.json (vocab 300) and a random tiny-preset model in `dir`.
void MakeModel(const fs::path& dir) {
  auto m = testing::MakeTinyModel({"en", "el"}, 300, 200, 3);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(testing::SaveTinyModel(m->tokenizer_json, *m->lm, dir).ok());
}

TEST(ProfileMetricsTest, ProfileTaskExportsItsProgressWhileItRuns) {
  testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeModel(dir.path() / "model"));
  auto sink = storage::StoreResultSink::OpenLocal(dir.file("results.db"));
  ASSERT_TRUE(sink.ok()) << sink.status();

  prometheus::Registry registry;
  TaskContext ctx;
  ctx.task.set_job_id("job-9");
  ctx.task.set_world_size(1);
  v1::JobSpec& spec = *ctx.task.mutable_spec();
  spec.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_FP32);
  v1::ProfileSpec& p = *spec.mutable_profile();
  p.mutable_model()->set_path("model");
  for (const char* lang : {"en", "el"}) {
    v1::Corpus& c = *p.add_corpora();
    c.set_language(lang);
    c.add_paths(Corpus(lang));
  }
  p.set_sentences_per_language(24);
  p.set_max_sentence_tokens(48);
  p.set_batch_tokens(128);  // a few sentences a batch: many progress reports
  p.set_top_n(20);
  p.set_output_path("out");
  ctx.work_dir = dir.path();
  ctx.results = sink->get();
  ctx.metrics = &registry;
  ctx.log = [](v1::LogLevel, const std::string&) {};

  // What the registry holds at each progress report (the task updates its series
  // before it reports).
  const std::string l = "{job_id=job-9,rank=0,}";
  int reports = 0;
  uint64_t last_done = 0, total = 0;
  ctx.report_progress = [&](const v1::Progress& progress) {
    ++reports;
    const auto got = RegistryValues(registry);
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(got.at("nmoe_profile_sentences" + l), static_cast<double>(progress.total()));
    EXPECT_EQ(got.at("nmoe_profile_sentences_done" + l), static_cast<double>(progress.done()));
    const double tps = got.at("nmoe_profile_tokens_per_second" + l);
    EXPECT_TRUE(std::isfinite(tps) && tps > 0) << tps;
    EXPECT_GT(progress.done(), last_done);
    last_done = progress.done();
    total = progress.total();
  };
  const absl::Status status = NewProfileTask()->Run(ctx);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_GE(reports, 3);
  EXPECT_EQ(total, 48u);  // 24 sentences of each language
  EXPECT_EQ(last_done, total);
  EXPECT_TRUE(RegistryValues(registry).empty()) << "the task's series are removed when it ends";
}

}  // namespace
}  // namespace nmoe::profiler
