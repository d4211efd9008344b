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

// A padded batch's real tokens only ("unpadded"): a forward with
// ForwardOptions::unpad runs its token-wise work (projections, norms, MLP) on rows
// (1, N, C) holding the N real tokens in row-major order of the (B,T) mask, and uses
// the padded layout only inside attention.
struct PackedTokens {
  int64_t batch = 0, time = 0;
  at::Tensor index_N;  // int64 flat positions b*T + t of the real tokens, ascending

  int64_t rows() const { return index_N.size(0); }
  // (B,T,C) -> (1,N,C): the real tokens' rows.
  at::Tensor Pack(const at::Tensor& x_BTC) const;
  // (1,N,C) -> (B,T,C), zeros at padding. Differentiable.
  at::Tensor Unpack(const at::Tensor& rows_1NC) const;
};

// The caller's receiver of activations (e.g. the profiler). Attached to a model with
// CausalLm::SetHooks. OnActivation runs synchronously inside the forward pass, in
// layer order, for wanted pairs only. `out_BTC` is the live activation (part of the
// autograd graph when grad mode is on, in the model's compute dtype): a hook must not
// modify it in place and should detach() what it keeps.
//
// In an unpadded forward (PackedTokens) a hook sees the padded (B,T,C) layout with
// zeros at padding, unless TakesPackedRows() is true: then it gets the (1,N,C) real
// rows themselves (no copy), in row-major order of the batch's mask.
class ActivationHooks {
 public:
  explicit ActivationHooks(HookMask mask) : mask_(std::move(mask)) {}
  virtual ~ActivationHooks() = default;

  bool Wants(int64_t layer, Component c) const { return mask_.Test(layer, c); }
  const HookMask& mask() const { return mask_; }

  virtual void OnActivation(int64_t layer, Component c, const at::Tensor& out_BTC) = 0;
  virtual bool TakesPackedRows() const { return false; }

 protected:
  HookMask mask_;
};

// What a layer's submodules need to emit activations: passed down the forward pass.
struct LayerContext {
  int64_t layer = 0;
  ActivationHooks* hooks = nullptr;  // null: no hooks attached
  // Valid-token mask of the batch (B,T; true/1 = real token), undefined when the batch
  // has no padding or is packed (every row real). For modules that pool over tokens
  // (e.g. an MoE's balance loss).
  at::Tensor mask_BT;
  // Set in an unpadded forward: activations are (1,N,C) real-token rows.
  const PackedTokens* packed = nullptr;

  // One branch when no hook is attached.
  void Emit(Component c, const at::Tensor& out_BTC) const {
    if (hooks != nullptr && hooks->Wants(layer, c)) {
      if (packed != nullptr && !hooks->TakesPackedRows()) {
        hooks->OnActivation(layer, c, packed->Unpack(out_BTC));
      } else {
        hooks->OnActivation(layer, c, out_BTC);
      }
    }
  }
};

}  // namespace nmoe::model
