// A scored profile as stored results (NeuronStat per neuron and language, the
// ProfileSummary) and as files: CSV/JSON exports and SVG figures. Torch-free.
//
// Files written into the output folder (docs/profiler.md):
//   summary.json                      languages, per-layer counts by component, similarities
//   selected_<crit>.csv               language,rank,layer,component,index,score[,activation_prob]
//   counts_<crit>.csv                 language,layer,<one column per component>,total
//   similarity.csv                    layer,language_a,language_b,similarity
//   counts_by_language_<crit>.svg     selected neurons per layer, one line per language
//   counts_by_component_<crit>.svg    selected neurons per layer (all languages), stacked by component
//   heatmap_<crit>.svg                layer x language selected counts
//   similarity.svg                    layer x language-pair similarity
// <crit> is "ap" or "lape".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/result_sink.h"
#include "nmoe/v1/results_service.pb.h"
#include "profiler/scoring.h"

namespace nmoe::profiler {

v1::ProfileSummary MakeSummary(const std::string& job_id, const NeuronSpace& space,
                               const std::vector<std::string>& languages, const ProfileScores& scores);

// Every neuron x language x criterion as NeuronStat, in batches of `batch` records.
absl::Status StoreNeuronStats(ResultSink& sink, const std::string& job_id, const NeuronSpace& space,
                              const std::vector<std::string>& languages, const ProfileScores& scores,
                              size_t batch = 20'000);

absl::Status WriteProfileFiles(const std::filesystem::path& dir, const NeuronSpace& space,
                               const std::vector<std::string>& languages, const ProfileScores& scores,
                               const v1::ProfileSummary& summary);

}  // namespace nmoe::profiler
