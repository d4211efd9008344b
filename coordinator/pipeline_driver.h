// Runs pipeline jobs as stage jobs (docs/pipeline.md). Step() looks at every
// pipeline that has not ended and moves it on:
//   - plans its stages on first sight (PENDING -> RUNNING);
//   - submits each stage whose needed stages succeeded, with an idempotency key
//     derived from the pipeline and stage, so a coordinator that crashed between
//     submitting and recording finds the same child again;
//   - mirrors the children's states and the progress of a running one;
//   - fails the pipeline when a stage fails (after the stage's own restarts),
//     cancelling its other running stages;
//   - once every stage succeeded, builds the report from the stored results,
//     stores it, and ends SUCCEEDED.
// Everything it needs is in the job store and the results store, so it keeps no
// state of its own: after a restart the next Step() continues where the stored
// jobs are. Step() is called by the coordinator's ticker thread; not thread-safe
// against itself.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/control_plane.h"
#include "storage/results_store.h"

namespace nmoe::coordinator {

class PipelineDriver {
 public:
  PipelineDriver(ControlPlane* control_plane, storage::ResultsStore* results)
      : cp_(control_plane), results_(results) {}

  // One pass over the active pipelines. Errors are logged and retried next pass,
  // except those that fail a pipeline (reported on the pipeline's events).
  void Step();

 private:
  absl::Status Drive(const v1::Job& pipeline);
  // The report of a pipeline whose `stages` all succeeded, from the stored results.
  absl::StatusOr<v1::Report> Report(const v1::Job& pipeline, const std::vector<v1::PipelineStage>& stages,
                                    const std::map<std::string, v1::Job>& children);

  ControlPlane* cp_;
  storage::ResultsStore* results_;
};

}  // namespace nmoe::coordinator
