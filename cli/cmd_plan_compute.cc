// plan compute --strategy S [inputs and parameters]: a plan computed locally
// (no server) from statistics in files, printed like `plan show`.
//   --strategy neuron-guided    --neuron-counts FILE [--max-experts N]
//   --strategy layer-similarity --similarity FILE    [--budget B]
//   --strategy uniform          --layers L --experts E
//   --strategy manual           --experts-per-layer 1,2,...
// Any strategy: [--total-budget T] [--top-k K] [--hidden-size D
// --intermediate-size F] [--svg FILE]. File formats: docs/allocation.md.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "allocator/plan_builder.h"
#include "allocator/plan_figure.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/format.h"
#include "common/status_macros.h"

namespace nmoe::cli {
namespace {

namespace alloc = nmoe::allocator;

struct ComputeFlags {
  std::string strategy;
  std::string neuron_counts;
  std::string similarity;
  uint32_t max_experts = 0;
  uint32_t budget = 0;
  uint32_t layers = 0;
  uint32_t experts = 0;
  std::string experts_per_layer;
  uint32_t total_budget = 0;
  uint32_t top_k = 0;
  uint32_t hidden_size = 0;
  uint32_t intermediate_size = 0;
  std::string svg;
};

absl::StatusOr<std::string> ReadInput(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError(fmt::format("{} {}: cannot read the file", flag, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// UsageError naming the flag that does not apply to the strategy.
absl::Status OnlyFor(bool given, const std::string& flag, const std::string& strategies) {
  if (given) return UsageError(fmt::format("{} applies only to --strategy {}", flag, strategies));
  return absl::OkStatus();
}

absl::StatusOr<v1::Plan> Compute(const ComputeFlags& f, const CLI::App& app) {
  absl::StatusOr<v1::AllocationStrategy> strategy = alloc::ParseStrategy(f.strategy);
  if (!strategy.ok()) return UsageError("--strategy: " + std::string(strategy.status().message()));
  using S = v1::AllocationStrategy;
  auto given = [&](const char* flag) { return app.count(flag) > 0; };
  NMOE_RETURN_IF_ERROR(OnlyFor(given("--neuron-counts") && *strategy != S::ALLOCATION_STRATEGY_NEURON_GUIDED,
                               "--neuron-counts", "neuron-guided"));
  NMOE_RETURN_IF_ERROR(OnlyFor(given("--max-experts") && *strategy != S::ALLOCATION_STRATEGY_NEURON_GUIDED,
                               "--max-experts", "neuron-guided"));
  NMOE_RETURN_IF_ERROR(OnlyFor(given("--similarity") && *strategy != S::ALLOCATION_STRATEGY_LAYER_SIMILARITY,
                               "--similarity", "layer-similarity"));
  NMOE_RETURN_IF_ERROR(OnlyFor(given("--budget") && *strategy != S::ALLOCATION_STRATEGY_LAYER_SIMILARITY, "--budget",
                               "layer-similarity"));
  NMOE_RETURN_IF_ERROR(
      OnlyFor((given("--layers") || given("--experts")) && *strategy != S::ALLOCATION_STRATEGY_UNIFORM,
              given("--layers") ? "--layers" : "--experts", "uniform"));
  NMOE_RETURN_IF_ERROR(OnlyFor(given("--experts-per-layer") && *strategy != S::ALLOCATION_STRATEGY_MANUAL,
                               "--experts-per-layer", "manual"));
  if (given("--max-experts") && f.max_experts < 2) return UsageError("--max-experts must be at least 2");
  if (given("--budget") && f.budget == 0) return UsageError("--budget must be at least 1");
  if (given("--hidden-size") != given("--intermediate-size")) {
    return UsageError("--hidden-size and --intermediate-size go together (added parameters need both)");
  }

  v1::AllocateSpec spec;
  spec.set_strategy(*strategy);
  spec.set_max_experts(f.max_experts);
  spec.set_budget(f.budget);
  spec.set_total_budget(f.total_budget);
  spec.set_top_k(f.top_k);
  spec.set_hidden_size(f.hidden_size);
  spec.set_intermediate_size(f.intermediate_size);
  absl::StatusOr<v1::Plan> plan;
  switch (*strategy) {
    case S::ALLOCATION_STRATEGY_NEURON_GUIDED: {
      if (f.neuron_counts.empty()) return UsageError("--strategy neuron-guided needs --neuron-counts FILE");
      NMOE_ASSIGN_OR_RETURN(std::string text, ReadInput("--neuron-counts", f.neuron_counts));
      absl::StatusOr<alloc::NeuronCountTable> counts = alloc::ParseNeuronCounts(text);
      if (!counts.ok()) return UsageError(fmt::format("--neuron-counts {}: {}", f.neuron_counts, std::string(counts.status().message())));
      plan = alloc::PlanFromNeuronCounts(spec, *counts);
      break;
    }
    case S::ALLOCATION_STRATEGY_LAYER_SIMILARITY: {
      if (f.similarity.empty()) return UsageError("--strategy layer-similarity needs --similarity FILE");
      NMOE_ASSIGN_OR_RETURN(std::string text, ReadInput("--similarity", f.similarity));
      absl::StatusOr<alloc::SimilarityTable> table = alloc::ParseSimilarity(text);
      if (!table.ok()) return UsageError(fmt::format("--similarity {}: {}", f.similarity, std::string(table.status().message())));
      plan = alloc::PlanFromSimilarity(spec, *table);
      break;
    }
    case S::ALLOCATION_STRATEGY_UNIFORM:
      if (!given("--layers") || !given("--experts")) return UsageError("--strategy uniform needs --layers L and --experts E");
      spec.set_num_layers(f.layers);
      spec.set_uniform_experts(f.experts);
      plan = alloc::PlanFromProfile(spec, nullptr);
      break;
    case S::ALLOCATION_STRATEGY_MANUAL:
      if (f.experts_per_layer.empty()) return UsageError("--strategy manual needs --experts-per-layer N,N,...");
      for (absl::string_view part : absl::StrSplit(f.experts_per_layer, ',')) {
        uint32_t n = 0;
        if (!absl::SimpleAtoi(part, &n)) {
          return UsageError(fmt::format("--experts-per-layer: '{}' is not a number of experts", std::string(part)));
        }
        spec.add_manual_experts(n);
      }
      plan = alloc::PlanFromProfile(spec, nullptr);
      break;
    default: break;
  }
  if (!plan.ok()) return UsageError(std::string(plan.status().message()));
  return plan;
}

absl::StatusOr<int> RunPlanCompute(Session& session, const ComputeFlags& flags, const CLI::App& app) {
  NMOE_ASSIGN_OR_RETURN(v1::Plan plan, Compute(flags, app));
  if (!flags.svg.empty()) {
    const std::string label = alloc::PlanLabel(plan);
    NMOE_ASSIGN_OR_RETURN(std::string svg, alloc::PlansFigureSvg({{label, plan}}, "Experts per layer: " + label));
    std::ofstream out(flags.svg, std::ios::binary | std::ios::trunc);
    out << svg;
    out.close();
    if (!out) return UsageError(fmt::format("--svg {}: cannot write the file", flags.svg));
  }
  Table layers{{"LAYER", "EXPERTS", "SCORE"}, {}};
  for (int l = 0; l < plan.experts_per_layer_size(); ++l) {
    layers.rows.push_back({std::to_string(l), std::to_string(plan.experts_per_layer(l)),
                           l < plan.layer_scores_size() ? FormatMetric(plan.layer_scores(l)) : "-"});
  }
  if (session.output() == OutputFormat::kCsv) {
    session.out() << RenderCsv(layers);
    return kExitOk;
  }
  std::string text = RenderKeyValues({
      {"Strategy", alloc::PlanLabel(plan)},
      {"Total experts", std::to_string(plan.total_experts())},
      {"Added parameters", plan.inputs().hidden_size() == 0 ? "- (give --hidden-size and --intermediate-size)"
                                                            : FormatCount(plan.added_parameters())},
  });
  text += "\n" + RenderTable(layers);
  NMOE_ASSIGN_OR_RETURN(nlohmann::ordered_json json, MessageToJsonValue(plan));
  json["total_experts"] = plan.total_experts();
  NMOE_RETURN_IF_ERROR(session.PrintDocument(json, text));
  return kExitOk;
}

}  // namespace

void AddPlanComputeCommand(CLI::App& root, CommandTable& table) {
  CLI::App* plan = root.get_subcommand("plan");  // made by AddResultsCommands
  auto flags = std::make_shared<ComputeFlags>();
  CLI::App* compute = plan->add_subcommand("compute", "Compute a plan locally from statistics in files (no server)");
  compute->add_option("--strategy", flags->strategy, "neuron-guided, layer-similarity, uniform or manual")->required();
  compute->add_option("--neuron-counts", flags->neuron_counts, "neuron-guided: JSON file of neuron counts per layer");
  compute->add_option("--similarity", flags->similarity, "layer-similarity: JSON file of language similarities per layer");
  compute->add_option("--max-experts", flags->max_experts, "neuron-guided: N_max (default 6)");
  compute->add_option("--budget", flags->budget, "layer-similarity: B (default 70)");
  compute->add_option("--layers", flags->layers, "uniform: layers of the model");
  compute->add_option("--experts", flags->experts, "uniform: experts in every layer");
  compute->add_option("--experts-per-layer", flags->experts_per_layer, "manual: experts per layer, e.g. 1,2,4");
  compute->add_option("--total-budget", flags->total_budget, "Cap on the total experts (any strategy; 0 = none)");
  compute->add_option("--top-k", flags->top_k, "Experts per token the plan is meant for (default 2)");
  compute->add_option("--hidden-size", flags->hidden_size, "Model hidden size (for added parameters)");
  compute->add_option("--intermediate-size", flags->intermediate_size, "Model MLP size (for added parameters)");
  compute->add_option("--svg", flags->svg, "Also write the experts-per-layer figure to this SVG file");
  table.Add(compute, [flags, compute](Session& session) { return RunPlanCompute(session, *flags, *compute); });
}

}  // namespace nmoe::cli
