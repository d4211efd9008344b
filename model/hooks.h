// Named hook points of the decoder: every linear projection output of every layer and
// every MLP input, identified by (layer, component).
//
// Shape legend: B batch, T time (tokens), C a component's channels (its output
// features: H*hd for q, K*hd for k/v, D for o/down/mlp_input, F for gate/up).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nmoe::model {

// Where an activation is taken. q/k are taken BEFORE rotary embedding, gate BEFORE
// SiLU; kMlpInput is the MLP's input (the output of post_attention_layernorm).
enum class Component : uint8_t {
  kQProj = 0,
  kKProj,
  kVProj,
  kOProj,
  kGateProj,
  kUpProj,
  kDownProj,
  kMlpInput,
};
inline constexpr int kNumComponents = 8;

// "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "mlp_input".
const char* ComponentName(Component c);
std::optional<Component> ComponentFromName(const std::string& name);

// Which (layer, component) pairs a hook wants. Out-of-range layers are never wanted.
class HookMask {
 public:
  explicit HookMask(int64_t num_layers = 0) : bits_(static_cast<size_t>(num_layers), 0) {}
  // Every component of every layer.
  static HookMask All(int64_t num_layers);

  // Out-of-range layers are ignored (never wanted).
  void Set(int64_t layer, Component c, bool wanted = true);
  // `c` in every layer.
  void SetComponent(Component c, bool wanted = true);
  bool Test(int64_t layer, Component c) const {
    return layer >= 0 && static_cast<size_t>(layer) < bits_.size() &&
           (bits_[static_cast<size_t>(layer)] >> static_cast<int>(c)) & 1u;
  }
  // Any component of `layer` wanted.
  bool AnyInLayer(int64_t layer) const {
    return layer >= 0 && static_cast<size_t>(layer) < bits_.size() && bits_[static_cast<size_t>(layer)] != 0;
  }
  int64_t num_layers() const { return static_cast<int64_t>(bits_.size()); }

 private:
  std::vector<uint8_t> bits_;  // one bit per component, one byte per layer
};

// The caller's receiver of activations (e.g. the profiler). Attached to a model with
// CausalLm::SetHooks. OnActivation runs synchronously inside the forward pass, in
// layer order, for wanted pairs only. `out_BTC` is the live activation (part of the
// autograd graph when grad mode is on, in the model's compute dtype): a hook must not
// modify it in place and should detach() what it keeps.
class ActivationHooks {
 public:
  explicit ActivationHooks(HookMask mask) : mask_(std::move(mask)) {}
  virtual ~ActivationHooks() = default;

  bool Wants(int64_t layer, Component c) const { return mask_.Test(layer, c); }
  const HookMask& mask() const { return mask_; }

  virtual void OnActivation(int64_t layer, Component c, const at::Tensor& out_BTC) = 0;

 protected:
  HookMask mask_;
};

// What a layer's submodules need to emit activations: passed down the forward pass.
struct LayerContext {
  int64_t layer = 0;
  ActivationHooks* hooks = nullptr;  // null: no hooks attached
  // Valid-token mask of the batch (B,T; true/1 = real token), undefined when the batch
  // has no padding. For modules that pool over tokens (e.g. an MoE's balance loss).
  at::Tensor mask_BT;

  // One branch when no hook is attached.
  void Emit(Component c, const at::Tensor& out_BTC) const {
    if (hooks != nullptr && hooks->Wants(layer, c)) hooks->OnActivation(layer, c, out_BTC);
  }
};

}  // namespace nmoe::model
