// Per-sentence responses of every profiled neuron, kept within a memory budget: in
// memory when rows x neurons x 4 bytes fit, else spilled to one file per neuron chunk
// (chunk width = budget / (rows x 4)) so that one chunk at a time is read back for
// scoring. Torch-free.
//
// Scale: Llama-3.2-3B (774,144 neurons) x 9 x 4,500 sentences is 125 GB of fp32
// responses: that much free disk under the spill folder, or shard sentences across
// workers and neurons with an all-to-all (profile_state.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "profiler/profile_state.h"

namespace nmoe::profiler {

class ResponseStore {
 public:
  // `expected_rows` sizes the chunks (more rows than that are accepted and only make
  // chunks larger than the budget). Spill files go to `spill_dir` (created when
  // needed, removed by the destructor).
  static absl::StatusOr<std::unique_ptr<ResponseStore>> Create(int64_t neurons, int64_t expected_rows,
                                                               uint64_t budget_bytes, std::filesystem::path spill_dir);
  ~ResponseStore();

  // One sentence's responses of all `neurons` (flat order).
  absl::Status Append(int64_t sentence_id, int32_t label, const float* row);

  bool spilled() const { return !files_.empty(); }
  int64_t num_chunks() const { return static_cast<int64_t>(bounds_.size()) - 1; }
  int64_t chunk_begin(int64_t c) const { return bounds_[static_cast<size_t>(c)]; }
  int64_t chunk_end(int64_t c) const { return bounds_[static_cast<size_t>(c) + 1]; }
  size_t rows() const { return sentence_ids_.size(); }

  // The rows of chunk c in append order. In memory the data moves out (once).
  absl::StatusOr<ResponseRows> ReadChunk(int64_t c);

 private:
  ResponseStore() = default;

  int64_t neurons_ = 0;
  std::vector<int64_t> bounds_;  // chunk c = [bounds_[c], bounds_[c+1])
  std::vector<int64_t> sentence_ids_;
  std::vector<int32_t> labels_;
  std::vector<float> memory_;     // in-memory: [row][neuron]
  std::filesystem::path dir_;
  std::vector<std::FILE*> files_;  // spilled: one per chunk
};

// AP of every neuron of `rows` for every language (one-vs-rest, labels in
// [0, num_languages)), written to ap[language][neuron] at the neurons' flat ids,
// on `threads` threads.
void ScoreAp(const ResponseRows& rows, int32_t num_languages, int threads, std::vector<std::vector<double>>* ap);

}  // namespace nmoe::profiler
