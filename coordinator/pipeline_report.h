// The report of a finished pipeline: Markdown plus SVG figures, built only from
// stored results (plans, evaluations, profile summaries) so the coordinator
// needs no access to the workers' files.
//
// Per plan: experts per layer, total experts, added parameters; held-out
// perplexity per language against the dense base (new languages first); routing
// on held-out text (old-language share to expert 0, dead experts); and the
// re-profiled count of language-specific neurons by layer next to the base's.
// "mean" perplexity over a language group is exp(mean NLL over its languages),
// the geometric mean of their perplexities.
#pragma once

#include <map>
#include <string>

#include "absl/time/time.h"
#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/results_service.pb.h"

namespace nmoe::coordinator {

struct ReportInputs {
  std::map<std::string, v1::Plan> plans;              // by plan label ("neuron-guided", ...)
  std::map<std::string, v1::Evaluation> evaluations;  // "base" and plan labels
  std::map<std::string, v1::ProfileSummary> profiles; // "base" (the profile stage) and re-profiled plan labels
  std::map<std::string, v1::Job> stage_jobs;          // by stage name: times for the stage table
};

// The report of `pipeline` (a pipeline job whose stages all succeeded).
v1::Report BuildPipelineReport(const v1::Job& pipeline, const ReportInputs& inputs, absl::Time now);

// Figure file names the Markdown links to.
inline constexpr char kExpertsFigure[] = "experts-per-layer.svg";
inline constexpr char kPerplexityFigure[] = "perplexity.svg";
inline constexpr char kNeuronsFigure[] = "language-neurons-per-layer.svg";

}  // namespace nmoe::coordinator
