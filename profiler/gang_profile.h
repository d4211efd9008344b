// Profiling over a gang (W ranks with a comm::Communicator): each rank collects its
// share of the sentence batches (RunOptions.rank/world, profile_run.h), then
//   - sentences, tokens, LAPE counts and similarity sums are all-reduced (sums);
//   - AP: for every response chunk (the same neuron bounds on every rank) the ranks
//     exchange rows with one all-to-all so that rank j holds EVERY sentence's
//     responses of the j-th W-th of the chunk's neurons, scores them, and the AP
//     table is summed over the gang (each neuron is scored by exactly one rank).
// Every rank ends with the same ProfileScores; the result equals a single run's
// (identical LAPE counts and AP selections: each sentence runs in the same batch).
//
// Memory per rank: its own responses (sentences/W x neurons x 4 bytes, spilled to
// disk over the budget) plus, per chunk, about four chunk-sized buffers of
// budget/W each. docs/profiler.md "Gangs" works the Llama-3.2-3B case through.
#pragma once

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "profiler/scoring.h"

namespace nmoe::profiler {

// Sums sentences, tokens, LAPE counts and similarity sums of `profile` over the gang
// (in place). Every rank must hold the same criteria and shapes.
absl::Status AllReduceCollected(comm::Communicator& comm, CollectedProfile& profile);

// ScoreProfile over the gang: AllReduceCollected, then AP as described above. Every
// rank calls it; every rank gets the full scores.
absl::StatusOr<ProfileScores> ScoreProfileOnGang(comm::Communicator& comm, CollectedProfile& profile,
                                                 const ScoreOptions& options);

}  // namespace nmoe::profiler
