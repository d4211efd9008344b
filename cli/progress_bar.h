// Rendering of a job's Progress for `nmoectl watch`: a live bar redrawn in
// place on a terminal, or one plain line per progress event otherwise.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "nmoe/v1/job.pb.h"

namespace nmoe::cli {

// Time left in the stage: (total - done) / rate_per_second. nullopt when it
// cannot be known: total is 0 (unknown) or the rate is not positive.
// Zero once done >= total.
std::optional<absl::Duration> EstimateRemaining(const nmoe::v1::Progress& progress);

// One plain line, for logs and non-terminals:
//   "profile 1200/5000 sentences (24.0%) 45.2/s ETA 1m50s loss=2.31 lr=0.0001"
// Unknown total: "train/stage1 1200 steps 3.10/s loss=2.31". At most 4 metrics.
std::string RenderProgressLine(const nmoe::v1::Progress& progress);

// The terminal bar, never longer than `width` - 1 columns (so it never wraps):
//   "profile [=========>          ] 1200/5000 sentences 24% 45.2/s ETA 1m50s loss=2.31"
// When too wide it drops, in order: metrics, the ETA, the rate, then cuts.
// At most 3 metrics.
std::string RenderProgressBar(const nmoe::v1::Progress& progress, int width);

// Draws RenderProgressBar on a terminal stream, in place ("\r" + erase to end
// of line). Callers printing other lines on the same terminal call Clear()
// first and Redraw() after. Not thread-safe.
class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream* terminal, int width) : terminal_(terminal), width_(width) {}
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Remembers `progress` and draws it.
  void Update(const nmoe::v1::Progress& progress);
  // Erases the bar if it is shown.
  void Clear();
  // Draws the last progress again, if any.
  void Redraw();

 private:
  std::ostream* terminal_;
  int width_;
  std::optional<nmoe::v1::Progress> last_;
  bool shown_ = false;
};

}  // namespace nmoe::cli
