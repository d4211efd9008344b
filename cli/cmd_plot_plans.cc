// plot plans PLAN_OR_FILE... [--out FILE] [--title T]: experts per layer of
// several plans side by side, as an SVG. Each argument is a plan file (plan.json
// of an allocate job, or `plan compute -o json` / `plan show -o json` output)
// when such a file exists, else a plan id fetched from the coordinator.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "allocator/plan_builder.h"
#include "allocator/plan_figure.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "common/status_macros.h"

namespace nmoe::cli {
namespace {

namespace alloc = nmoe::allocator;

struct PlotFlags {
  std::vector<std::string> plans;
  std::string out = "plans.svg";
  std::string title = "Experts per layer";
};

absl::StatusOr<v1::Plan> LoadPlan(Session& session, const std::string& arg) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    std::ifstream in(arg, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return UsageError(fmt::format("{}: cannot read the file", arg));
    absl::StatusOr<v1::Plan> plan = alloc::PlanFromJson(text.str());
    if (!plan.ok()) return UsageError(fmt::format("{}: {}", arg, std::string(plan.status().message())));
    return plan;
  }
  if (arg.find('/') != std::string::npos || arg.ends_with(".json")) {
    return UsageError(fmt::format("{}: no such plan file", arg));
  }
  v1::GetPlanRequest request;
  request.set_plan_id(arg);
  Client& client = session.client();
  return client.Call(client.results(), &v1::ResultsService::Stub::GetPlan, request);
}

absl::StatusOr<int> RunPlotPlans(Session& session, const PlotFlags& flags) {
  std::vector<alloc::FigurePlan> figure;
  std::map<std::string, int> uses;
  for (const std::string& arg : flags.plans) {
    NMOE_ASSIGN_OR_RETURN(v1::Plan plan, LoadPlan(session, arg));
    figure.push_back({alloc::PlanLabel(plan), std::move(plan)});
    ++uses[figure.back().label];
  }
  // Plans of the same strategy and parameters are told apart by id or file name.
  for (size_t i = 0; i < figure.size(); ++i) {
    if (uses[figure[i].label] > 1) {
      const std::string& id = figure[i].plan.id();
      figure[i].label += fmt::format(" [{}]", id.empty() ? std::filesystem::path(flags.plans[i]).filename().string() : id);
    }
  }
  absl::StatusOr<std::string> svg = alloc::PlansFigureSvg(figure, flags.title);
  if (!svg.ok()) return UsageError(std::string(svg.status().message()));
  std::ofstream out(flags.out, std::ios::binary | std::ios::trunc);
  out << *svg;
  out.close();
  if (!out) return UsageError(fmt::format("--out {}: cannot write the file", flags.out));
  session.out() << fmt::format("wrote {} ({} plans)\n", flags.out, figure.size());
  return kExitOk;
}

}  // namespace

void AddPlotPlansCommand(CLI::App& root, CommandTable& table) {
  // `plot` may already hold other figures' subcommands.
  CLI::App* plot = nullptr;
  for (CLI::App* sub : root.get_subcommands([](CLI::App* a) { return a->get_name() == "plot"; })) plot = sub;
  if (plot == nullptr) {
    plot = root.add_subcommand("plot", "Draw figures as SVG files");
    plot->require_subcommand(1);
  }
  auto flags = std::make_shared<PlotFlags>();
  CLI::App* plans = plot->add_subcommand("plans", "Experts per layer of several plans side by side");
  plans->add_option("plans", flags->plans, "Plan ids or plan JSON files")->required();
  plans->add_option("--out", flags->out, "SVG file to write")->capture_default_str();
  plans->add_option("--title", flags->title, "Figure title")->capture_default_str();
  table.Add(plans, [flags](Session& session) { return RunPlotPlans(session, *flags); });
}

}  // namespace nmoe::cli
