#include "cli/progress_bar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cli/format.h"

namespace nmoe::cli {
namespace {

using nmoe::v1::Progress;

constexpr int kBarCells = 20;

std::string Percent(const Progress& p, int decimals) {
  const double pct =
      100.0 * static_cast<double>(std::min(p.done(), p.total())) / static_cast<double>(p.total());
  return decimals == 0 ? fmt::format("{:.0f}%", std::floor(pct)) : fmt::format("{:.1f}%", pct);
}

// Empty for a progress that only names its stage (nothing counted, no unit).
std::string Counts(const Progress& p) {
  if (p.total() == 0 && p.done() == 0 && p.unit().empty()) return "";
  std::string counts = p.total() > 0
                           ? fmt::format("{}/{}", FormatCount(p.done()), FormatCount(p.total()))
                           : FormatCount(p.done());
  if (!p.unit().empty()) counts += " " + p.unit();
  return counts;
}

std::string Eta(const Progress& p) {
  std::optional<absl::Duration> left = EstimateRemaining(p);
  return left.has_value() ? "ETA " + FormatShortDuration(*left) : "";
}

std::string Bar(const Progress& p) {
  const uint64_t done = std::min(p.done(), p.total());
  const int filled = static_cast<int>(done * kBarCells / p.total());
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kBarCells) {
    bar += '>';
    bar.append(static_cast<size_t>(kBarCells - filled - 1), ' ');
  }
  return "[" + bar + "]";
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += ' ';
    out += part;
  }
  return out;
}

}  // namespace

std::optional<absl::Duration> EstimateRemaining(const Progress& progress) {
  if (progress.total() == 0) return std::nullopt;
  if (progress.done() >= progress.total()) return absl::ZeroDuration();
  if (!(progress.rate_per_second() > 0.0) || !std::isfinite(progress.rate_per_second())) {
    return std::nullopt;
  }
  const double left = static_cast<double>(progress.total() - progress.done());
  return absl::Seconds(std::ceil(left / progress.rate_per_second()));
}

std::string RenderProgressLine(const Progress& progress) {
  std::vector<std::string> parts = {progress.stage(), Counts(progress)};
  if (progress.total() > 0) parts.push_back("(" + Percent(progress, 1) + ")");
  if (progress.rate_per_second() > 0.0) parts.push_back(FormatRate(progress.rate_per_second()));
  parts.push_back(Eta(progress));
  parts.push_back(FormatMetrics(progress.metrics(), 4));
  return Join(parts);
}

std::string RenderProgressBar(const Progress& progress, int width) {
  const size_t budget = static_cast<size_t>(std::max(width - 1, 1));
  std::string bar, pct;
  if (progress.total() > 0) {
    bar = Bar(progress);
    pct = Percent(progress, 0);
  }
  std::string rate = progress.rate_per_second() > 0.0 ? FormatRate(progress.rate_per_second()) : "";
  std::string eta = Eta(progress);
  std::string metrics = FormatMetrics(progress.metrics(), 3);
  const std::string stage = progress.stage();
  const std::string counts = Counts(progress);
  auto line = [&] { return Join({stage, bar, counts, pct, rate, eta, metrics}); };
  std::string out = line();
  // Drop the least useful parts first until the line fits.
  for (std::string* part : {&metrics, &eta, &rate}) {
    if (out.size() <= budget) break;
    part->clear();
    out = line();
  }
  if (out.size() > budget) out.resize(budget);
  return out;
}

void ProgressDisplay::Update(const nmoe::v1::Progress& progress) {
  last_ = progress;
  Redraw();
}

void ProgressDisplay::Clear() {
  if (!shown_) return;
  *terminal_ << "\r\x1b[K" << std::flush;
  shown_ = false;
}

void ProgressDisplay::Redraw() {
  if (!last_.has_value()) return;
  *terminal_ << "\r" << RenderProgressBar(*last_, width_) << "\x1b[K" << std::flush;
  shown_ = true;
}

}  // namespace nmoe::cli
