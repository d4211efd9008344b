// Profiling over a gang end to end: a real nmoe-coordinator and two nmoe-worker
// processes on 127.0.0.1 run a 2-worker profile job (ranks 0 and 1, Gloo over the
// coordinator's KV rendezvous) and a 1-worker profile job of the same tiny random model
// on the committed sample corpus (tests/data/corpus). The built nmoectl reads both
// jobs' stored statistics (`nmoectl neurons ... -o csv|json`): the selections of the
// 2-worker job equal the 1-worker job's, row for row, scores included. Then an allocate
// job that names only the profile, strategy and languages makes a plan for the model's
// 4 layers with added parameters from the sizes the profile recorded (plan show/list).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/client.h"
#include "cli/job_file.h"
#include "nlohmann/json.hpp"
#include "tests/profiler/tiny_model.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/worker_e2e.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::vector<std::string> kLangs = {"en", "el", "de"};

std::string Corpus(const std::string& lang) { return testing::SampleCorpus(lang); }

// tokenizer.json (vocab 400) + a random tiny-preset model in `dir`.
void MakeModel(const fs::path& dir) {
  auto m = testing::MakeTinyModel(kLangs, 400, 300, 8);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(testing::SaveTinyModel(m->tokenizer_json, *m->lm, dir).ok());
}

std::string ProfileJob(const std::string& name, int workers, const std::string& output) {
  std::string corpora;
  for (const std::string& lang : kLangs) absl::StrAppend(&corpora, "    - {language: ", lang, ", paths: [", Corpus(lang), "]}\n");
  return absl::StrCat("name: ", name, "\nresources: {dtype: COMPUTE_DTYPE_FP32, threads_per_worker: 1, num_workers: ",
                      workers, "}\nprofile:\n  model: {path: model}\n  corpora:\n", corpora,
                      "  criteria: [NEURON_CRITERION_AP, NEURON_CRITERION_LAPE]\n  sentences_per_language: 30\n"
                      "  top_n: 40\n  layer_similarity: true\n  batch_tokens: 256\n  memory_budget_mb: 1\n"
                      "  seed: 2\n  output_path: ",
                      output, "\n");
}

class ProfileGangE2eTest : public testing::WorkerE2eTest {
 protected:
  // Gang members publish 127.0.0.1 for the Gloo rendezvous.
  testing::ChildProcess StartGangWorker(const std::string& name) {
    return StartWorker(name, {"--advertise-host", "127.0.0.1"});
  }

  v1::Job WaitDone(const std::string& id) {
    return WaitFor(
        id, [](const v1::Job& j) { return j.state() >= v1::JOB_STATE_SUCCEEDED; }, absl::Seconds(400));
  }

  // The built nmoectl against the coordinator: exit code and stdout.
  std::pair<int, std::string> Nmoectl(const std::vector<std::string>& args) {
    std::string command = absl::StrCat("'", testing::BuildPath("cli/nmoectl"), "' --address 127.0.0.1:", port_,
                                       " --token-file '", dir_.file("tokens"), "'");
    for (const auto& a : args) absl::StrAppend(&command, " '", a, "'");
    absl::StrAppend(&command, " 2>>'", dir_.file("nmoectl.err"), "'");
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  std::string Logs() {
    return absl::StrCat(testing::ReadWholeFile(WorkerLog("a")), testing::ReadWholeFile(WorkerLog("b")),
                        testing::ReadWholeFile(dir_.file("nmoectl.err")));
  }
};

TEST_F(ProfileGangE2eTest, TwoWorkersStoreTheOneWorkerSelections) {
  ASSERT_NO_FATAL_FAILURE(MakeModel(dir_.path() / "model"));
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  testing::ChildProcess a = StartGangWorker("a");
  testing::ChildProcess b = StartGangWorker("b");
  const std::string gang = Submit(ProfileJob("gang", 2, "out/gang"));
  v1::Job job = WaitDone(gang);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.last_transition().message() << "\n" << Logs();
  const std::string single = Submit(ProfileJob("single", 1, "out/single"));
  job = WaitDone(single);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.last_transition().message() << "\n" << Logs();
  EXPECT_THAT(Logs(), HasSubstr("profile: rank 1 of 2 done; rank 0 stores the results"));
  EXPECT_TRUE(fs::exists(dir_.path() / "out" / "gang" / "selected_ap.csv"));
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / "gang" / "spill-rank-0"));

  for (const std::string& lang : kLangs) {
    for (const char* criterion : {"ap", "lape"}) {
      auto [code1, one] = Nmoectl({"neurons", "--job", single, "--language", lang, "--criterion", criterion,
                                   "--selected", "--all", "-o", "csv"});
      auto [code2, two] = Nmoectl({"neurons", "--job", gang, "--language", lang, "--criterion", criterion,
                                   "--selected", "--all", "-o", "csv"});
      ASSERT_EQ(code1, 0) << Logs();
      ASSERT_EQ(code2, 0) << Logs();
      EXPECT_EQ(one, two) << lang << " " << criterion;
      if (std::string(criterion) == "ap") {
        EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 41) << one;  // header + top 40
      }
    }
  }
  // JSON export of the top 5 (--top implies --selected), equal for both jobs.
  auto [c1, j1] = Nmoectl({"neurons", "--job", single, "--language", "el", "--top", "5", "-o", "json"});
  auto [c2, j2] = Nmoectl({"neurons", "--job", gang, "--language", "el", "--top", "5", "-o", "json"});
  ASSERT_EQ(c1, 0) << Logs();
  ASSERT_EQ(c2, 0) << Logs();
  const auto one = nlohmann::json::parse(j1), two = nlohmann::json::parse(j2);
  ASSERT_EQ(one["neurons"].size(), 5u) << j1;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(one["neurons"][i].value("rank", 0u), i + 1);
    for (const char* key : {"layer", "component", "index", "score", "rank"}) {  // zeros may be omitted
      EXPECT_EQ(one["neurons"][i].value(key, nlohmann::json()), two["neurons"][i].value(key, nlohmann::json())) << key;
    }
  }
  // The summaries agree too (counts per layer, sizes for allocation).
  EXPECT_EQ(testing::ReadWholeFile(dir_.path() / "out" / "gang" / "counts_ap.csv"),
            testing::ReadWholeFile(dir_.path() / "out" / "single" / "counts_ap.csv"));

  // An allocate job as the pipeline submits it (profile, strategy, languages only: the
  // model's sizes come from the gang profile's summary), then plan show/list.
  const std::string alloc = Submit(absl::StrCat(
      "name: alloc\nresources: {num_workers: 1}\nallocate:\n  profile_job_id: ", gang,
      "\n  strategy: ALLOCATION_STRATEGY_NEURON_GUIDED\n  old_languages: [en]\n  new_languages: [el, de]\n"
      "  max_experts: 4\n"));
  job = WaitDone(alloc);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.last_transition().message() << "\n" << Logs();
  const std::string plan_id = "plan-" + alloc.substr(4);
  auto [c3, shown] = Nmoectl({"plan", "show", plan_id, "-o", "json"});
  ASSERT_EQ(c3, 0) << Logs();
  const auto plan = nlohmann::json::parse(shown);
  const auto experts = plan.at("experts_per_layer").get<std::vector<uint32_t>>();
  ASSERT_EQ(experts.size(), 4u) << shown;  // tiny preset: 4 layers, from the summary
  std::printf("plan %s: %s\n", plan_id.c_str(), plan.at("experts_per_layer").dump().c_str());
  uint64_t added = 0, total = 0;
  for (uint32_t n : experts) added += uint64_t{n - 1} * 3 * 64 * 192, total += n;
  EXPECT_GT(added, 0u) << "the random model gives an uneven plan";
  EXPECT_EQ(plan.value("total_experts", 0u), total);
  EXPECT_EQ(plan.value("added_parameters", std::string("0")), std::to_string(added)) << shown;  // uint64: a JSON string
  EXPECT_EQ(plan.at("inputs").value("hidden_size", 0u), 64u);
  EXPECT_EQ(plan.at("inputs").value("intermediate_size", 0u), 192u);
  EXPECT_EQ(plan.value("profile_job_id", ""), gang);
  auto [c4, listed] = Nmoectl({"plan", "list", "--job", alloc});
  ASSERT_EQ(c4, 0) << Logs();
  EXPECT_THAT(listed, HasSubstr(plan_id));
  EXPECT_THAT(listed, HasSubstr("neuron-guided"));
}

}  // namespace
}  // namespace nmoe
