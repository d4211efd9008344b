// Top-N selection by score and per-layer counts of selected neurons. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "profiler/neuron_space.h"

namespace nmoe::profiler {

// The flat ids of the `n` highest scores, best first; ties go to the lower flat id.
std::vector<int64_t> TopN(const std::vector<double>& scores, int64_t n);

// counts[layer][proj] of `selected` (flat ids of `space`); (component, index) pairs,
// so channel 5 of q_proj and of gate_proj are two neurons.
std::vector<std::array<uint32_t, kNumProjs>> CountPerLayer(const NeuronSpace& space,
                                                            const std::vector<int64_t>& selected);

}  // namespace nmoe::profiler
