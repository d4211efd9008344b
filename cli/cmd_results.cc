// plan show PLAN, plan list [--job JOB], and neurons --job J --language L
// [--layer N] [--component C] [--criterion ap|lape] [--selected] [--top N]
// [--limit N | --all]. Every command prints a table, or with the global -o csv / -o json
// / -o yaml an export: neurons as CSV (one row per neuron, full precision) or as the
// QueryNeuronsResponse JSON ({"neurons": [...]}).
#include <fmt/format.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/enum_names.h"
#include "cli/errors.h"
#include "cli/format.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::ResultsService;

std::string Join(const auto& values, auto format) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + format(v);
  return out;
}

absl::StatusOr<int> RunPlanShow(Session& session, const std::string& plan_id) {
  nmoe::v1::GetPlanRequest request;
  request.set_plan_id(plan_id);
  Client& client = session.client();
  absl::StatusOr<nmoe::v1::Plan> plan =
      client.Call(client.results(), &ResultsService::Stub::GetPlan, request);
  if (!plan.ok()) return plan.status();
  // Table output: a summary, then the experts (and score) of every layer.
  Table layers{{"LAYER", "EXPERTS", "SCORE"}, {}};
  for (int l = 0; l < plan->experts_per_layer_size(); ++l) {
    layers.rows.push_back(
        {std::to_string(l), std::to_string(plan->experts_per_layer(l)),
         l < plan->layer_scores_size() ? FormatMetric(plan->layer_scores(l)) : "-"});
  }
  std::string text = RenderKeyValues({
      {"ID", plan->id()},
      {"Job", plan->job_id()},
      {"Profile job", plan->profile_job_id().empty() ? "-" : plan->profile_job_id()},
      {"Strategy", EnumName(plan->strategy())},
      {"Total experts", std::to_string(plan->total_experts())},
      {"Added parameters", FormatCount(plan->added_parameters())},
      {"Created", FormatTimestamp(plan->create_time())},
  });
  text += "\n" + RenderTable(layers);
  if (session.output() == OutputFormat::kCsv) {
    session.out() << RenderCsv(layers);
    return kExitOk;
  }
  absl::StatusOr<nlohmann::ordered_json> json = MessageToJsonValue(*plan);
  if (!json.ok()) return json.status();
  if (absl::Status s = session.PrintDocument(*json, text); !s.ok()) return s;
  return kExitOk;
}

absl::StatusOr<int> RunPlanList(Session& session, const std::string& job_id) {
  nmoe::v1::ListPlansRequest request;
  request.set_job_id(job_id);
  request.set_page_size(1000);
  Client& client = session.client();
  nmoe::v1::ListPlansResponse all;
  do {
    absl::StatusOr<nmoe::v1::ListPlansResponse> page =
        client.Call(client.results(), &ResultsService::Stub::ListPlans, request);
    if (!page.ok()) return page.status();
    for (nmoe::v1::Plan& plan : *page->mutable_plans()) *all.add_plans() = std::move(plan);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  Table table{
      {"ID", "JOB", "STRATEGY", "EXPERTS_PER_LAYER", "TOTAL_EXPERTS", "ADDED_PARAMS", "AGE"}, {}};
  for (const nmoe::v1::Plan& p : all.plans()) {
    table.rows.push_back({p.id(), p.job_id(), EnumName(p.strategy()),
                          Join(p.experts_per_layer(), [](uint32_t n) { return std::to_string(n); }),
                          std::to_string(p.total_experts()), FormatCount(p.added_parameters()),
                          FormatAge(p.create_time(), session.Now())});
  }
  if (absl::Status s = session.Print(all, table); !s.ok()) return s;
  return kExitOk;
}

struct NeuronFlags {
  std::string job_id;
  std::string language;
  uint32_t layer = 0;
  bool has_layer = false;  // --layer given
  std::string component;
  std::string criterion;
  bool selected = false;
  uint32_t top = 0;
  uint32_t limit = 1000;
  bool all = false;
};

absl::StatusOr<nmoe::v1::QueryNeuronsRequest> NeuronRequest(const NeuronFlags& flags) {
  nmoe::v1::QueryNeuronsRequest request;
  request.set_job_id(flags.job_id);
  request.set_language(flags.language);
  if (flags.has_layer) request.set_layer(flags.layer);
  if (!flags.component.empty()) {
    absl::StatusOr<nmoe::v1::Component> c = ParseEnum<nmoe::v1::Component>(flags.component);
    if (!c.ok()) return UsageError("--component: " + std::string(c.status().message()));
    request.set_component(*c);
  }
  if (!flags.criterion.empty()) {
    absl::StatusOr<nmoe::v1::NeuronCriterion> c =
        ParseEnum<nmoe::v1::NeuronCriterion>(flags.criterion);
    if (!c.ok()) return UsageError("--criterion: " + std::string(c.status().message()));
    request.set_criterion(*c);
  }
  // --top N is the language's first N selected neurons: it implies --selected.
  request.set_selected_only(flags.selected || flags.top > 0);
  request.set_top_n(flags.top);
  return request;
}

absl::StatusOr<int> RunNeurons(Session& session, const NeuronFlags& flags) {
  absl::StatusOr<nmoe::v1::QueryNeuronsRequest> request = NeuronRequest(flags);
  if (!request.ok()) return request.status();
  const uint32_t limit = flags.all ? 0 : flags.limit;
  Client& client = session.client();
  nmoe::v1::QueryNeuronsResponse all;
  do {
    const uint32_t wanted = limit == 0 ? 10000 : limit - static_cast<uint32_t>(all.neurons_size());
    request->set_page_size(std::min<uint32_t>(wanted, 10000));
    absl::StatusOr<nmoe::v1::QueryNeuronsResponse> page =
        client.Call(client.results(), &ResultsService::Stub::QueryNeurons, *request);
    if (!page.ok()) return page.status();
    for (nmoe::v1::NeuronStat& n : *page->mutable_neurons()) {
      if (limit != 0 && static_cast<uint32_t>(all.neurons_size()) >= limit) break;
      *all.add_neurons() = std::move(n);
    }
    request->set_page_token(page->next_page_token());
  } while (!request->page_token().empty() &&
           (limit == 0 || static_cast<uint32_t>(all.neurons_size()) < limit));
  all.set_next_page_token(request->page_token());
  // CSV keeps full precision; the table rounds for reading.
  const bool precise = session.output() == OutputFormat::kCsv;
  auto number = [&](double v) { return precise ? fmt::format("{}", v) : fmt::format("{:.4f}", v); };
  Table table{{"LANGUAGE", "CRITERION", "LAYER", "COMPONENT", "INDEX", "SCORE", "ACTIVATION_PROB",
               "SELECTED", "RANK"},
              {}};
  for (const nmoe::v1::NeuronStat& n : all.neurons()) {
    table.rows.push_back({n.language(), EnumName(n.criterion()), std::to_string(n.layer()),
                          EnumName(n.component()), std::to_string(n.index()), number(n.score()),
                          number(n.activation_prob()), n.selected() ? "true" : "false",
                          std::to_string(n.rank())});
  }
  if (absl::Status s = session.Print(all, table); !s.ok()) return s;
  if (!all.next_page_token().empty() && session.output() == OutputFormat::kTable) {
    session.err() << fmt::format(
        "(showing the first {} neurons; use --limit N or --all for more)\n", all.neurons_size());
  }
  return kExitOk;
}

}  // namespace

void AddResultsCommands(CLI::App& root, CommandTable& table) {
  CLI::App* plan = root.add_subcommand("plan", "Allocation plans");
  plan->require_subcommand(1);
  auto plan_id = std::make_shared<std::string>();
  CLI::App* show = plan->add_subcommand("show", "Show a plan: experts per layer");
  show->add_option("plan", *plan_id, "Plan id")->required();
  table.Add(show, [plan_id](Session& session) { return RunPlanShow(session, *plan_id); });
  auto job_id = std::make_shared<std::string>();
  CLI::App* list = plan->add_subcommand("list", "List plans");
  list->add_option("--job", *job_id, "Only plans made by this job");
  table.Add(list, [job_id](Session& session) { return RunPlanList(session, *job_id); });

  auto flags = std::make_shared<NeuronFlags>();
  CLI::App* neurons = root.add_subcommand("neurons", "Query per-neuron statistics of a profile");
  neurons->add_option("--job", flags->job_id, "Profile (or pipeline) job id")->required();
  neurons->add_option("--language", flags->language, "Language code, e.g. el")->required();
  neurons->add_option("--layer", flags->layer, "Only this layer (default: all)");
  neurons->add_option(
      "--component", flags->component,
      "Only this component: " + ShortEnumNameList(nmoe::v1::Component_descriptor()));
  neurons->add_option("--criterion", flags->criterion, "ap (default) or lape");
  neurons->add_flag("--selected", flags->selected, "Only the language's selected neurons, by rank");
  neurons->add_option("--top", flags->top, "The first N selected neurons by rank (implies --selected)");
  neurons->add_option("--limit", flags->limit, "At most this many rows")->capture_default_str();
  neurons->add_flag("--all", flags->all, "All rows (no --limit)");
  table.Add(neurons, [flags, neurons](Session& session) {
    flags->has_layer = neurons->count("--layer") > 0;
    return RunNeurons(session, *flags);
  });
}

}  // namespace nmoe::cli
