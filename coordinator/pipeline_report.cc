#include "coordinator/pipeline_report.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "absl/strings/str_join.h"
#include "allocator/plan_figure.h"
#include "common/proto_time.h"
#include "common/svg.h"
#include "coordinator/job_states.h"
#include "coordinator/pipeline_plan.h"

namespace nmoe::coordinator {
namespace {

struct Model {
  std::string label;  // "dense base" or the plan label
  const v1::Evaluation* evaluation = nullptr;
  const v1::Plan* plan = nullptr;
  const v1::ProfileSummary* profile = nullptr;
};

template <typename T>
const T* Find(const std::map<std::string, T>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::optional<double> Nll(const v1::Evaluation* e, const std::string& language) {
  if (e == nullptr) return std::nullopt;
  for (const auto& l : e->languages()) {
    if (l.language() == language && l.tokens() > 0) return l.nll();
  }
  return std::nullopt;
}

// exp(mean NLL) over `languages`; nullopt when one is missing.
std::optional<double> GroupPerplexity(const v1::Evaluation* e, const std::vector<std::string>& languages) {
  if (languages.empty()) return std::nullopt;
  double sum = 0;
  for (const auto& l : languages) {
    auto nll = Nll(e, l);
    if (!nll) return std::nullopt;
    sum += *nll;
  }
  return std::exp(sum / languages.size());
}

std::string Ppl(std::optional<double> ppl) { return ppl ? fmt::format("{:.1f}", *ppl) : "-"; }

// "183.2 (-12.1%)" against the base's value.
std::string PplVsBase(std::optional<double> ppl, std::optional<double> base) {
  if (!ppl) return "-";
  if (!base || *base <= 0) return Ppl(ppl);
  return fmt::format("{:.1f} ({:+.1f}%)", *ppl, 100.0 * (*ppl / *base - 1.0));
}

std::string Count(uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}k", n / 1e3);
  return std::to_string(n);
}

// Selected neurons per layer summed over languages, under the first criterion present.
std::vector<uint64_t> NeuronsPerLayer(const v1::ProfileSummary& profile) {
  std::vector<uint64_t> per_layer;
  if (profile.languages().empty()) return per_layer;
  const auto criterion = profile.languages(0).criterion();
  for (const auto& lang : profile.languages()) {
    if (lang.criterion() != criterion) continue;
    for (const auto& layer : lang.layers()) {
      if (layer.layer() >= per_layer.size()) per_layer.resize(layer.layer() + 1, 0);
      per_layer[layer.layer()] += layer.total();
    }
  }
  return per_layer;
}

std::string PerplexityFigure(const std::vector<Model>& models, const std::vector<std::string>& languages) {
  // Bars: each plan's perplexity divided by the base's, per language (1 = no change).
  const double width = 120 + 90.0 * languages.size(), height = 340;
  const double left = 60, top = 40, plot_h = 220, bottom = top + plot_h;
  svg::Document doc(width, height);
  doc.Text(width / 2, 22, "Held-out perplexity relative to the dense base", 14, svg::Anchor::kMiddle);
  double max_ratio = 1.0;
  for (size_t m = 1; m < models.size(); ++m) {
    for (const auto& l : languages) {
      auto p = Nll(models[m].evaluation, l), b = Nll(models[0].evaluation, l);
      if (p && b) max_ratio = std::max(max_ratio, std::exp(*p - *b));
    }
  }
  max_ratio *= 1.1;
  auto y_of = [&](double r) { return bottom - plot_h * r / max_ratio; };
  doc.Line(left, bottom, width - 20, bottom, "#444444");
  doc.Line(left, top, left, bottom, "#444444");
  doc.Line(left, y_of(1.0), width - 20, y_of(1.0), "#999999");
  doc.Text(left - 6, y_of(1.0) + 4, "1.0", 10, svg::Anchor::kEnd);
  doc.Text(left - 6, y_of(max_ratio) + 4, fmt::format("{:.2f}", max_ratio), 10, svg::Anchor::kEnd);
  const size_t series = models.size() > 1 ? models.size() - 1 : 1;
  const double group_w = 90, bar_w = 70.0 / series;
  for (size_t i = 0; i < languages.size(); ++i) {
    const double gx = left + 10 + group_w * i;
    doc.Text(gx + 35, bottom + 16, languages[i], 11, svg::Anchor::kMiddle);
    for (size_t m = 1; m < models.size(); ++m) {
      auto p = Nll(models[m].evaluation, languages[i]), b = Nll(models[0].evaluation, languages[i]);
      if (!p || !b) continue;
      const double r = std::exp(*p - *b);
      doc.Rect(gx + bar_w * (m - 1), y_of(r), bar_w - 2, bottom - y_of(r), svg::PaletteColor(m - 1),
               fmt::format("{} {}: {:.3f} x base", models[m].label, languages[i], r));
    }
  }
  for (size_t m = 1; m < models.size(); ++m) {
    const double ly = bottom + 36 + 14 * (m - 1);
    doc.Rect(left, ly - 9, 10, 10, svg::PaletteColor(m - 1));
    doc.Text(left + 16, ly, models[m].label, 11);
  }
  return doc.Finish();
}

std::string NeuronsFigure(const std::vector<Model>& models) {
  std::vector<std::pair<std::string, std::vector<uint64_t>>> lines;
  size_t layers = 0;
  uint64_t max_count = 1;
  for (const auto& m : models) {
    if (m.profile == nullptr) continue;
    auto counts = NeuronsPerLayer(*m.profile);
    layers = std::max(layers, counts.size());
    for (auto c : counts) max_count = std::max(max_count, c);
    lines.emplace_back(m.label, std::move(counts));
  }
  const double width = 640, height = 360, left = 60, top = 40, plot_w = 540, plot_h = 230;
  const double bottom = top + plot_h;
  svg::Document doc(width, height);
  doc.Text(width / 2, 22, "Language-specific neurons per layer (all languages)", 14, svg::Anchor::kMiddle);
  doc.Line(left, bottom, left + plot_w, bottom, "#444444");
  doc.Line(left, top, left, bottom, "#444444");
  doc.Text(left - 6, top + 4, std::to_string(max_count), 10, svg::Anchor::kEnd);
  doc.Text(left - 6, bottom + 4, "0", 10, svg::Anchor::kEnd);
  auto x_of = [&](size_t l) { return left + (layers <= 1 ? 0.0 : plot_w * l / (layers - 1.0)); };
  auto y_of = [&](uint64_t c) { return bottom - plot_h * static_cast<double>(c) / max_count; };
  for (size_t l = 0; l < layers; ++l) doc.Text(x_of(l), bottom + 14, std::to_string(l), 9, svg::Anchor::kMiddle);
  doc.Text(left + plot_w / 2, bottom + 30, "layer", 11, svg::Anchor::kMiddle);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> points;
    for (size_t l = 0; l < lines[i].second.size(); ++l) {
      points.push_back(fmt::format("{:.1f},{:.1f}", x_of(l), y_of(lines[i].second[l])));
    }
    doc.Polyline(absl::StrJoin(points, " "), svg::PaletteColor(i));
    const double ly = bottom + 48 + 13 * i;
    doc.Rect(left, ly - 9, 10, 10, svg::PaletteColor(i));
    doc.Text(left + 16, ly, lines[i].first, 11);
  }
  return doc.Finish();
}

std::string Duration(const v1::Job& job) {
  if (!job.has_start_time() || !job.has_end_time()) return "-";
  const absl::Duration d = FromProtoTime(job.end_time()) - FromProtoTime(job.start_time());
  return fmt::format("{:.0f} s", absl::ToDoubleSeconds(d));
}

}  // namespace

v1::Report BuildPipelineReport(const v1::Job& pipeline, const ReportInputs& inputs, absl::Time now) {
  const auto& spec = pipeline.spec().pipeline();
  const std::vector<std::string> new_langs(spec.new_languages().begin(), spec.new_languages().end());
  const std::vector<std::string> old_langs(spec.old_languages().begin(), spec.old_languages().end());
  std::vector<std::string> languages = new_langs;
  languages.insert(languages.end(), old_langs.begin(), old_langs.end());

  std::vector<Model> models;
  models.push_back({"dense base", Find(inputs.evaluations, "base"), nullptr, Find(inputs.profiles, "base")});
  for (const auto& stage : pipeline.stages()) {
    const auto [step, label] = SplitStageName(stage.name());
    if (step != "allocate") continue;
    models.push_back({label, Find(inputs.evaluations, label), Find(inputs.plans, label), Find(inputs.profiles, label)});
  }
  const Model& base = models[0];

  std::string md;
  const std::string title = pipeline.spec().name().empty() ? pipeline.id() : pipeline.spec().name();
  md += fmt::format("# NeuronMoE pipeline report: {}\n\n", title);
  md += fmt::format("Job `{}`. New languages: {}. Old languages: {}. Output folder: `{}` (on the workers).\n\n",
                    pipeline.id(), absl::StrJoin(new_langs, ", "), absl::StrJoin(old_langs, ", "),
                    PipelineOutputPath(pipeline));

  md += "## Held-out perplexity\n\n";
  md += "Lower is better; in brackets the change against the dense base. \"new\" and \"old\" are the geometric "
        "means over the new and the old languages.\n\n";
  md += "| model | experts | parameters | " + absl::StrJoin(languages, " | ") + " | new | old |\n|---|---|---:|";
  for (size_t i = 0; i < languages.size(); ++i) md += "---:|";
  md += "---:|---:|\n";
  for (const auto& m : models) {
    std::vector<std::string> cells = {m.label};
    const int layers = m.plan ? m.plan->experts_per_layer_size() : 0;
    cells.push_back(m.plan ? fmt::format("{} ({:.2f}/layer)", m.plan->total_experts(),
                                         layers ? double(m.plan->total_experts()) / layers : 0.0)
                           : "dense");
    cells.push_back(m.evaluation ? Count(m.evaluation->parameters()) : "-");
    for (const auto& l : languages) {
      auto p = Nll(m.evaluation, l), b = Nll(base.evaluation, l);
      cells.push_back(&m == &base ? Ppl(p ? std::optional(std::exp(*p)) : std::nullopt)
                                  : PplVsBase(p ? std::optional(std::exp(*p)) : std::nullopt,
                                              b ? std::optional(std::exp(*b)) : std::nullopt));
    }
    for (const auto* group : {&new_langs, &old_langs}) {
      auto g = GroupPerplexity(m.evaluation, *group);
      cells.push_back(&m == &base ? Ppl(g) : PplVsBase(g, GroupPerplexity(base.evaluation, *group)));
    }
    md += "| " + absl::StrJoin(cells, " | ") + " |\n";
  }
  md += fmt::format("\n![perplexity]({})\n\n", kPerplexityFigure);

  md += "## Plans\n\n| plan | strategy | experts per layer | total | added parameters |\n|---|---|---|---:|---:|\n";
  std::vector<allocator::FigurePlan> figure_plans;
  for (const auto& m : models) {
    if (!m.plan) continue;
    md += fmt::format("| {} | {} | {} | {} | {} |\n", m.label, allocator::PlanLabel(*m.plan),
                      absl::StrJoin(m.plan->experts_per_layer(), " "), m.plan->total_experts(),
                      Count(m.plan->added_parameters()));
    figure_plans.push_back({m.label, *m.plan});
  }
  std::vector<v1::ReportFigure> figures;
  if (auto svg = allocator::PlansFigureSvg(figure_plans, "Experts per layer"); svg.ok()) {
    md += fmt::format("\n![experts per layer]({})\n", kExpertsFigure);
    auto& f = figures.emplace_back();
    f.set_file_name(kExpertsFigure);
    f.set_svg(*svg);
  }

  md += "\n## Routing on held-out text\n\n";
  md += "Per MoE layer: the share of the old languages' tokens that use the frozen original MLP (expert 0) "
        "among their top-k experts (1 where every token uses every expert), experts that received no token, "
        "and each expert's share of the layer's (token, slot) pairs.\n\n";
  for (const auto& m : models) {
    if (!m.evaluation || m.evaluation->routing().empty()) continue;
    md += fmt::format("**{}**\n\n| layer | experts | old languages to expert 0 | dead experts | token share by expert |\n"
                      "|---:|---:|---:|---:|---|\n",
                      m.label);
    for (const auto& r : m.evaluation->routing()) {
      std::vector<std::string> shares;
      for (const auto& e : r.experts()) shares.push_back(fmt::format("{:.2f}", e.token_share()));
      md += fmt::format("| {} | {} | {} | {} | {} |\n", r.layer(), r.num_experts(),
                        r.has_old_language_expert0_share() ? fmt::format("{:.3f}", r.old_language_expert0_share())
                                                           : "-",
                        r.dead_experts(), absl::StrJoin(shares, " "));
    }
    md += "\n";
  }

  md += "## Language-specific neurons by layer\n\n";
  md += "Selected neurons summed over languages, in the base model's profile and in each trained model "
        "profiled again (MoE layers: routing-weighted expert responses).\n\n";
  std::vector<std::vector<uint64_t>> counts;
  std::vector<std::string> header = {"layer"};
  size_t max_layers = 0;
  for (const auto& m : models) {
    if (!m.profile) continue;
    header.push_back(m.label);
    counts.push_back(NeuronsPerLayer(*m.profile));
    max_layers = std::max(max_layers, counts.back().size());
  }
  if (!counts.empty()) {
    md += "| " + absl::StrJoin(header, " | ") + " |\n|";
    for (size_t i = 0; i < header.size(); ++i) md += "---:|";
    md += "\n";
    for (size_t l = 0; l < max_layers; ++l) {
      std::vector<std::string> cells = {std::to_string(l)};
      for (const auto& c : counts) cells.push_back(l < c.size() ? std::to_string(c[l]) : "-");
      md += "| " + absl::StrJoin(cells, " | ") + " |\n";
    }
    md += fmt::format("\n![neurons per layer]({})\n\n", kNeuronsFigure);
    auto& f = figures.emplace_back();
    f.set_file_name(kNeuronsFigure);
    f.set_svg(NeuronsFigure(models));
  } else {
    md += "No profiles stored.\n\n";
  }

  md += "## Stages\n\n| stage | job | state | took |\n|---|---|---|---:|\n";
  for (const auto& stage : pipeline.stages()) {
    const v1::Job* job = Find(inputs.stage_jobs, stage.name());
    md += fmt::format("| {} | `{}` | {} | {} |\n", stage.name(), stage.job_id(), StateName(stage.state()),
                      job ? Duration(*job) : "-");
  }

  auto& f = figures.emplace_back();
  f.set_file_name(kPerplexityFigure);
  f.set_svg(PerplexityFigure(models, languages));

  v1::Report report;
  report.set_job_id(pipeline.id());
  report.set_markdown(md);
  for (auto& fig : figures) *report.add_figures() = std::move(fig);
  *report.mutable_create_time() = ToProtoTime(now);
  return report;
}

}  // namespace nmoe::coordinator
