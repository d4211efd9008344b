// The neurons of a decoder: one output channel of one linear projection of one layer
// (METHOD.md step 1). Torch-free.
//
// Flat order (the column order of every profiler state): layer-major, then the
// projections in Proj order, then the channel index. A subset of projections can be
// profiled; flat indices then cover only the chosen ones.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::profiler {

// The seven projections, in the order of model::Component (hooks.h) and of
// proto Component minus one.
enum class Proj : uint8_t { kQ = 0, kK, kV, kO, kGate, kUp, kDown };
inline constexpr int kNumProjs = 7;

// "q_proj" ... "down_proj".
const char* ProjName(Proj p);
std::optional<Proj> ProjFromName(const std::string& name);

struct NeuronId {
  int32_t layer = 0;
  Proj proj = Proj::kQ;
  int32_t index = 0;
  bool operator==(const NeuronId&) const = default;
};

class NeuronSpace {
 public:
  NeuronSpace() = default;
  // `widths[p]` = output channels of projection p (q: H*d, k/v: K*d, o/down: D,
  // gate/up: F), the same in every layer; only `projs` are profiled (empty = all).
  // INVALID_ARGUMENT for non-positive sizes or a repeated projection.
  static absl::StatusOr<NeuronSpace> Create(int32_t num_layers, const std::array<int64_t, kNumProjs>& widths,
                                            std::vector<Proj> projs = {});

  int32_t num_layers() const { return num_layers_; }
  int64_t size() const { return per_layer_ * num_layers_; }     // all profiled neurons
  int64_t per_layer() const { return per_layer_; }
  bool Has(Proj p) const { return offset_[static_cast<int>(p)] >= 0; }
  int64_t width(Proj p) const { return widths_[static_cast<int>(p)]; }
  const std::vector<Proj>& projs() const { return projs_; }
  // Flat index of channel 0 of (layer, p); requires Has(p).
  int64_t Offset(int32_t layer, Proj p) const { return layer * per_layer_ + offset_[static_cast<int>(p)]; }
  NeuronId Id(int64_t flat) const;

 private:
  int32_t num_layers_ = 0;
  int64_t per_layer_ = 0;
  std::array<int64_t, kNumProjs> widths_{};
  std::array<int64_t, kNumProjs> offset_{};  // within a layer; -1 = not profiled
  std::vector<Proj> projs_;                  // profiled, in Proj order
};

}  // namespace nmoe::profiler
