// The micro pipeline of the end-to-end pipeline tests (pipeline_e2e_test,
// pipeline_chaos_test): a micro version of examples/jobs/pipeline-tiny.yaml on the
// committed sample corpus (pretrain a tiny model, profile, three plans, two training
// stages each, evaluations, re-profiles, report), and a fixture reading its stored
// results through the real coordinator.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/worker_e2e.h"

namespace nmoe::testing {

inline const std::vector<std::string> kMicroOld = {"en", "es"};
inline const std::vector<std::string> kMicroNew = {"fr", "tr"};  // Latin script: the micro model's layer similarities stay positive
inline constexpr size_t kMicroStages = 15;

struct MicroOptions {
  std::string name = "micro";
  std::string output = "runs/micro";
  int stage1_steps = 4;
  int checkpoint_interval_steps = 0;  // 0 = the trainer's default
  int max_restarts = 1;
};

// The pipeline's job file (YAML).
std::string MicroPipelineYaml(const MicroOptions& options = {});

class PipelineTest : public WorkerE2eTest {
 protected:
  v1::Evaluation Evaluation(const std::string& job);
  v1::Plan PlanOf(const std::string& job);
  v1::Report Report(const std::string& pipeline_job);
  // Stage name -> child job id; every stage of a finished pipeline succeeded.
  std::map<std::string, std::string> SucceededStages(const v1::Job& job);
  // Model ("base", or a plan's label) -> its stored evaluation.
  std::map<std::string, v1::Evaluation> Evaluations(std::map<std::string, std::string>& stage_jobs);
  // The number of jobs whose parent is `pipeline_job`.
  int Children(const std::string& pipeline_job);
};

// The report's perplexity table has every model's row with its stored perplexities.
void ExpectReportShows(const std::string& md, const std::map<std::string, v1::Evaluation>& evaluations);

}  // namespace nmoe::testing
