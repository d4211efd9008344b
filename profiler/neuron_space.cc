#include "profiler/neuron_space.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace nmoe::profiler {
namespace {
constexpr const char* kNames[kNumProjs] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
}  // namespace

const char* ProjName(Proj p) {
  const int i = static_cast<int>(p);
  return i >= 0 && i < kNumProjs ? kNames[i] : "unknown";
}

std::optional<Proj> ProjFromName(const std::string& name) {
  for (int i = 0; i < kNumProjs; ++i) {
    if (name == kNames[i]) return static_cast<Proj>(i);
  }
  return std::nullopt;
}

absl::StatusOr<NeuronSpace> NeuronSpace::Create(int32_t num_layers, const std::array<int64_t, kNumProjs>& widths,
                                                std::vector<Proj> projs) {
  if (num_layers <= 0) return absl::InvalidArgumentError(absl::StrCat("neuron space: ", num_layers, " layers"));
  if (projs.empty()) {
    for (int i = 0; i < kNumProjs; ++i) projs.push_back(static_cast<Proj>(i));
  }
  std::sort(projs.begin(), projs.end());
  if (std::adjacent_find(projs.begin(), projs.end()) != projs.end()) {
    return absl::InvalidArgumentError("neuron space: a projection is listed twice");
  }
  NeuronSpace s;
  s.num_layers_ = num_layers;
  s.widths_ = widths;
  s.offset_.fill(-1);
  for (Proj p : projs) {
    const int64_t w = widths[static_cast<int>(p)];
    if (w <= 0) return absl::InvalidArgumentError(absl::StrCat("neuron space: ", ProjName(p), " has width ", w));
    s.offset_[static_cast<int>(p)] = s.per_layer_;
    s.per_layer_ += w;
  }
  s.projs_ = std::move(projs);
  return s;
}

NeuronId NeuronSpace::Id(int64_t flat) const {
  NeuronId id;
  id.layer = static_cast<int32_t>(flat / per_layer_);
  const int64_t within = flat % per_layer_;
  for (Proj p : projs_) {
    const int64_t off = offset_[static_cast<int>(p)];
    if (within >= off && within < off + widths_[static_cast<int>(p)]) {
      id.proj = p;
      id.index = static_cast<int32_t>(within - off);
      break;
    }
  }
  return id;
}

}  // namespace nmoe::profiler
