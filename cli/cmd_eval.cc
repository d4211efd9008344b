// eval JOB: the stored evaluation of an evaluate job (v1::Evaluation): held-out
// perplexity per language against the unigram baseline and, for an MoE model, where
// each MoE layer routed the held-out tokens. -o json|yaml prints the message.
#include <fmt/format.h>

#include <set>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/format.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::ResultsService;

// One row per language: documents, predicted tokens, nll (nats/token), perplexity and
// the unigram baseline on the same tokens ("-" when not computed).
Table LanguageTable(const nmoe::v1::Evaluation& e, bool precise) {
  auto number = [&](double v, int digits) { return precise ? fmt::format("{}", v) : fmt::format("{:.{}f}", v, digits); };
  Table table{{"LANGUAGE", "DOCUMENTS", "TOKENS", "NLL", "PERPLEXITY", "UNIGRAM_PPL"}, {}};
  for (const nmoe::v1::LanguageEvaluation& l : e.languages()) {
    table.rows.push_back({l.language(), std::to_string(l.documents()), std::to_string(l.tokens()), number(l.nll(), 4),
                          number(l.perplexity(), 2),
                          l.unigram_perplexity() > 0 ? number(l.unigram_perplexity(), 2) : "-"});
  }
  return table;
}

// One row per (MoE layer, expert): assignments, share of the layer's (token, slot)
// pairs, the share within each language's pairs; then the share of the layer's
// old-language tokens that use expert 0 ("-" when the evaluation named none) and dead experts, on the
// layer's expert-0 row; when some layer has LayerMoE's sequence classifier, per language
// the share of its tokens the classifier sent to expert 0 alone (CLASSIFIED_OLD_<lang>,
// "-" in layers without one).
Table RoutingTable(const nmoe::v1::Evaluation& e, bool precise) {
  auto share = [&](double v) { return precise ? fmt::format("{}", v) : fmt::format("{:.3f}", v); };
  std::vector<std::string> languages;
  for (const nmoe::v1::LanguageEvaluation& l : e.languages()) languages.push_back(l.language());
  Table table{{"LAYER", "EXPERT", "ASSIGNMENTS", "SHARE"}, {}};
  for (const std::string& lang : languages) table.headers.push_back("SHARE_" + lang);
  table.headers.push_back("OLD_TO_EXPERT0");
  table.headers.push_back("DEAD_EXPERTS");
  bool classifiers = false;
  for (const nmoe::v1::LayerRouting& layer : e.routing()) classifiers |= !layer.classifier_old_share().empty();
  if (classifiers) {
    for (const std::string& lang : languages) table.headers.push_back("CLASSIFIED_OLD_" + lang);
  }
  for (const nmoe::v1::LayerRouting& layer : e.routing()) {
    for (const nmoe::v1::ExpertRouting& x : layer.experts()) {
      std::vector<std::string> row = {std::to_string(layer.layer()), std::to_string(x.expert()),
                                      std::to_string(x.assignments()), share(x.token_share())};
      for (const std::string& lang : languages) {
        auto it = x.share_by_language().find(lang);
        row.push_back(it == x.share_by_language().end() ? "-" : share(it->second));
      }
      const bool first = x.expert() == 0;
      row.push_back(first && layer.has_old_language_expert0_share() ? share(layer.old_language_expert0_share())
                                                                     : "-");
      row.push_back(first ? std::to_string(layer.dead_experts()) : "");
      if (classifiers) {
        for (const std::string& lang : languages) {
          auto it = layer.classifier_old_share().find(lang);
          row.push_back(!first ? "" : it == layer.classifier_old_share().end() ? "-" : share(it->second));
        }
      }
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

std::string ExpertsPerLayer(const nmoe::v1::Evaluation& e) {
  if (e.experts_per_layer_size() == 0) return "dense";
  std::string out;
  uint32_t total = 0;
  for (uint32_t n : e.experts_per_layer()) {
    out += (out.empty() ? "" : ",") + std::to_string(n);
    if (n >= 2) total += n;
  }
  return fmt::format("{} ({} experts in MoE layers)", out, total);
}

absl::StatusOr<int> RunEval(Session& session, const std::string& job_id) {
  nmoe::v1::GetEvaluationRequest request;
  request.set_job_id(job_id);
  Client& client = session.client();
  absl::StatusOr<nmoe::v1::Evaluation> e =
      client.Call(client.results(), &ResultsService::Stub::GetEvaluation, request);
  if (!e.ok()) return e.status();
  const bool csv = session.output() == OutputFormat::kCsv;
  const Table languages = LanguageTable(*e, csv);
  const Table routing = RoutingTable(*e, csv);
  if (csv) {
    session.out() << RenderCsv(languages);
    if (!routing.rows.empty()) session.out() << "\n" << RenderCsv(routing);
    return kExitOk;
  }
  std::string text = RenderKeyValues({
      {"Job", e->job_id()},
      {"Model", e->model_path()},
      {"Experts per layer", ExpertsPerLayer(*e)},
      {"Parameters", FormatCount(e->parameters())},
      {"Created", FormatTimestamp(e->create_time())},
  });
  text += "\nHeld-out perplexity:\n" + RenderTable(languages);
  if (!routing.rows.empty()) text += "\nRouting (share of (token, slot) pairs):\n" + RenderTable(routing);
  absl::StatusOr<nlohmann::ordered_json> json = MessageToJsonValue(*e);
  if (!json.ok()) return json.status();
  if (absl::Status s = session.PrintDocument(*json, text); !s.ok()) return s;
  return kExitOk;
}

}  // namespace

void AddEvalCommand(CLI::App& root, CommandTable& table) {
  auto job_id = std::make_shared<std::string>();
  CLI::App* eval = root.add_subcommand("eval", "Show the stored evaluation of an evaluate job: perplexity and routing");
  eval->add_option("job", *job_id, "Evaluate job id")->required();
  table.Add(eval, [job_id](Session& session) { return RunEval(session, *job_id); });
}

}  // namespace nmoe::cli
