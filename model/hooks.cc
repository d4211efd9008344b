#include "model/hooks.h"

#include <ATen/ops/index_select.h>
#include <ATen/ops/zeros.h>

namespace nmoe::model {
namespace {
constexpr const char* kNames[kNumComponents] = {"q_proj",    "k_proj",  "v_proj",    "o_proj",
                                                "gate_proj", "up_proj", "down_proj", "mlp_input"};
}  // namespace

const char* ComponentName(Component c) {
  const int i = static_cast<int>(c);
  return i >= 0 && i < kNumComponents ? kNames[i] : "unknown";
}

std::optional<Component> ComponentFromName(const std::string& name) {
  for (int i = 0; i < kNumComponents; ++i) {
    if (name == kNames[i]) return static_cast<Component>(i);
  }
  return std::nullopt;
}

HookMask HookMask::All(int64_t num_layers) {
  HookMask m(num_layers);
  for (uint8_t& b : m.bits_) b = static_cast<uint8_t>((1u << kNumComponents) - 1);
  return m;
}

void HookMask::Set(int64_t layer, Component c, bool wanted) {
  if (layer < 0 || static_cast<size_t>(layer) >= bits_.size()) return;
  const uint8_t bit = static_cast<uint8_t>(1u << static_cast<int>(c));
  uint8_t& b = bits_[static_cast<size_t>(layer)];
  b = wanted ? static_cast<uint8_t>(b | bit) : static_cast<uint8_t>(b & ~bit);
}

void HookMask::SetComponent(Component c, bool wanted) {
  for (int64_t l = 0; l < num_layers(); ++l) Set(l, c, wanted);
}

at::Tensor PackedTokens::Pack(const at::Tensor& x_BTC) const {
  return x_BTC.reshape({batch * time, x_BTC.size(-1)}).index_select(0, index_N).unsqueeze(0);
}

at::Tensor PackedTokens::Unpack(const at::Tensor& rows_1NC) const {
  const int64_t c = rows_1NC.size(-1);
  return at::zeros({batch * time, c}, rows_1NC.options())
      .index_copy(0, index_N, rows_1NC.reshape({rows(), c}))
      .view({batch, time, c});
}

}  // namespace nmoe::model
