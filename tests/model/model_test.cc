// The decoder modules: names, shapes, masking, unpadding, hooks, MLP replacement, dtypes, loss.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorIndexing.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/silu.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <numbers>
#include <utility>

#include "model/autocast.h"
#include "model/causal_lm.h"
#include "model/checkpoint.h"
#include "model/init.h"
#include "model/loss.h"
#include "model/rope.h"
#include "tests/model/tiny_config.h"

namespace nmoe::model {
namespace {

using ::testing::HasSubstr;
using testing::TinyConfig;

// max |a - b| / max |b|.
double RelErr(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(at::kDouble) - b.to(at::kDouble)).abs().max() / b.to(at::kDouble).abs().max()).item<double>();
}

std::shared_ptr<CausalLm> Tiny(ModelConfig config, uint64_t seed = 7, at::ScalarType dtype = at::kFloat) {
  LoadModelOptions options;
  options.dtype = dtype;
  auto model = NewRandomModel(config, seed, options);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

at::Tensor Ids(int64_t b, int64_t t, int64_t seed = 3) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randint(0, 256, {b, t}, gen, at::kLong);
}

at::Tensor Logits(CausalLm& model, const at::Tensor& ids, const ForwardOptions& options = {}) {
  torch::NoGradGuard no_grad;
  auto out = model.Forward(ids, options);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? out->logits_BTV : at::Tensor();
}

class Recorder : public ActivationHooks {
 public:
  using ActivationHooks::ActivationHooks;
  void OnActivation(int64_t layer, Component c, const at::Tensor& out_BTC) override {
    seen[{layer, c}] = out_BTC.detach().clone();
    ++calls;
  }
  std::map<std::pair<int64_t, Component>, at::Tensor> seen;
  int calls = 0;
};

TEST(CausalLmTest, ParameterNamesMatchHuggingFace) {
  ModelConfig c = TinyConfig();
  c.attention_bias = true;
  c.mlp_bias = true;
  CausalLm llama(c, at::kFloat);
  std::map<std::string, std::vector<int64_t>> got;
  int64_t total = 0;
  for (const auto& p : llama.named_parameters()) {
    got[p.key()] = p.value().sizes().vec();
    total += p.value().numel();
  }
  EXPECT_EQ(total, c.NumParameters());
  EXPECT_EQ(got.size(), 2 + 1 + 3 * (2 + 4 * 2 + 3 * 2));  // embed, norm, head; per layer
  EXPECT_EQ(got.at("model.embed_tokens.weight"), (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(got.at("model.layers.2.self_attn.q_proj.weight"), (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(got.at("model.layers.2.self_attn.k_proj.weight"), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(got.at("model.layers.0.self_attn.o_proj.bias"), (std::vector<int64_t>{64}));
  EXPECT_EQ(got.at("model.layers.1.mlp.down_proj.weight"), (std::vector<int64_t>{64, 96}));
  EXPECT_EQ(got.at("model.layers.1.mlp.gate_proj.bias"), (std::vector<int64_t>{96}));
  EXPECT_EQ(got.at("model.layers.0.post_attention_layernorm.weight"), (std::vector<int64_t>{64}));
  EXPECT_EQ(got.at("model.norm.weight"), (std::vector<int64_t>{64}));
  EXPECT_EQ(got.at("lm_head.weight"), (std::vector<int64_t>{256, 64}));

  CausalLm qwen(TinyConfig(Architecture::kQwen2, /*tied=*/true), at::kFloat);
  std::map<std::string, std::vector<int64_t>> q;
  for (const auto& p : qwen.named_parameters()) q[p.key()] = p.value().sizes().vec();
  EXPECT_EQ(q.count("lm_head.weight"), 0u);
  EXPECT_EQ(q.at("model.layers.0.self_attn.v_proj.bias"), (std::vector<int64_t>{32}));
  EXPECT_EQ(q.count("model.layers.0.self_attn.o_proj.bias"), 0u);
  EXPECT_EQ(q.count("model.layers.0.mlp.up_proj.bias"), 0u);
  EXPECT_EQ(q.size(), 2 + 3 * (2 + 4 + 3 + 3));
}

TEST(CausalLmTest, ForwardShapesAndInputErrors) {
  auto model = Tiny(TinyConfig());
  auto out = model->Forward(Ids(2, 5));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->logits_BTV.sizes(), (std::vector<int64_t>{2, 5, 256}));
  EXPECT_TRUE(std::isfinite(out->logits_BTV.abs().max().item<double>()));

  ForwardOptions options;
  options.compute_logits = false;
  options.output_hidden_states = true;
  out = model->Forward(Ids(2, 5).to(at::kInt), options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->logits_BTV.defined());
  ASSERT_EQ(out->hidden_states_BTD.size(), 4u);
  EXPECT_TRUE(out->hidden_states_BTD.back().equal(out->last_hidden_BTD));

  EXPECT_THAT(model->Forward(at::zeros({5}, at::kLong)).status().message(), HasSubstr("(B,T)"));
  EXPECT_THAT(model->Forward(at::zeros({1, 5}, at::kFloat)).status().message(), HasSubstr("int64 or int32"));
  EXPECT_THAT(model->Forward(at::full({1, 3}, 256, at::kLong)).status().message(),
              HasSubstr("token id 256 is outside the vocabulary [0, 256)"));
  EXPECT_THAT(model->Forward(at::full({1, 3}, -1, at::kLong)).status().message(), HasSubstr("token id -1"));
  ForwardOptions bad_mask;
  bad_mask.mask_BT = at::ones({2, 4}, at::kLong);
  EXPECT_THAT(model->Forward(Ids(2, 5), bad_mask).status().message(), HasSubstr("mask has shape [2, 4]"));
}

TEST(CausalLmTest, IsCausal) {
  auto model = Tiny(TinyConfig());
  at::Tensor ids = Ids(1, 8);
  at::Tensor changed = ids.clone();
  changed[0][5] = (ids[0][5].item<int64_t>() + 1) % 256;
  const at::Tensor a = Logits(*model, ids), b = Logits(*model, changed);
  EXPECT_TRUE(a.narrow(1, 0, 5).equal(b.narrow(1, 0, 5)));
  EXPECT_FALSE(a.narrow(1, 5, 1).equal(b.narrow(1, 5, 1)));
}

TEST(CausalLmTest, PaddedRowsMatchUnpaddedRuns) {
  auto model = Tiny(TinyConfig(Architecture::kQwen2));
  const at::Tensor short_ids = Ids(1, 4, 11), long_ids = Ids(1, 7, 12);
  const at::Tensor ref_short = Logits(*model, short_ids), ref_long = Logits(*model, long_ids);
  // Right padding: default positions already match.
  at::Tensor right = at::zeros({2, 7}, at::kLong), right_mask = at::zeros({2, 7}, at::kLong);
  right[0].narrow(0, 0, 4).copy_(short_ids[0]);
  right[1].copy_(long_ids[0]);
  right_mask[0].narrow(0, 0, 4).fill_(1);
  right_mask[1].fill_(1);
  ForwardOptions r;
  r.mask_BT = right_mask;
  const at::Tensor got_r = Logits(*model, right, r);
  EXPECT_LT(RelErr(got_r[0].narrow(0, 0, 4), ref_short[0]), 1e-6);
  EXPECT_LT(RelErr(got_r[1], ref_long[0]), 1e-6);
  // Left padding: positions from the mask.
  at::Tensor left = at::zeros({2, 7}, at::kLong), left_mask = at::zeros({2, 7}, at::kLong);
  left[0].narrow(0, 3, 4).copy_(short_ids[0]);
  left[1].copy_(long_ids[0]);
  left_mask[0].narrow(0, 3, 4).fill_(1);
  left_mask[1].fill_(1);
  ForwardOptions l;
  l.mask_BT = left_mask;
  l.positions_BT = PositionsFromMask(left_mask);
  const at::Tensor got_l = Logits(*model, left, l);
  EXPECT_TRUE(std::isfinite(got_l.abs().max().item<double>()));  // fully masked query rows stay finite
  EXPECT_LT(RelErr(got_l[0].narrow(0, 3, 4), ref_short[0]), 1e-6);
  EXPECT_LT(RelErr(got_l[1], ref_long[0]), 1e-6);
}

TEST(CausalLmTest, HooksSeeProjectionsBeforeRopeAndSilu) {
  auto model = Tiny(TinyConfig());
  HookMask mask(3);
  mask.Set(0, Component::kQProj);
  mask.Set(1, Component::kGateProj);
  mask.Set(1, Component::kUpProj);
  mask.Set(1, Component::kDownProj);
  mask.Set(1, Component::kMlpInput);
  auto hooks = std::make_shared<Recorder>(mask);
  model->SetHooks(hooks);
  const at::Tensor ids = Ids(2, 6);
  Logits(*model, ids);
  EXPECT_EQ(hooks->calls, 5);
  ASSERT_EQ(hooks->seen.size(), 5u);
  torch::NoGradGuard no_grad;
  // q of layer 0 = input_layernorm(embeddings) W_q^T: no rotation applied.
  const at::Tensor x_BTD = model->embed_tokens().Forward(ids);
  const at::Tensor q = at::linear(model->layer(0).input_layernorm().Forward(x_BTD),
                                  model->layer(0).self_attn().q_proj().weight_OI());
  EXPECT_LT(RelErr(hooks->seen.at({0, Component::kQProj}), q), 1e-6);
  // gate before SiLU (SiLU never goes below -0.2785), and down = W_d (silu(gate) * up).
  const at::Tensor gate = hooks->seen.at({1, Component::kGateProj});
  EXPECT_LT(gate.min().item<double>(), -0.3);
  EXPECT_EQ(gate.sizes(), (std::vector<int64_t>{2, 6, 96}));
  auto& mlp = dynamic_cast<SwiGluMlp&>(model->layer(1).mlp());
  const at::Tensor mlp_in = hooks->seen.at({1, Component::kMlpInput});
  EXPECT_LT(RelErr(at::linear(mlp_in, mlp.gate_proj().weight_OI()), gate), 1e-6);
  const at::Tensor down = at::linear(at::silu(gate) * hooks->seen.at({1, Component::kUpProj}),
                                     mlp.down_proj().weight_OI());
  EXPECT_LT(RelErr(hooks->seen.at({1, Component::kDownProj}), down), 1e-6);
  // Detached hooks: no calls.
  model->SetHooks(nullptr);
  Logits(*model, ids);
  EXPECT_EQ(hooks->calls, 5);
}

TEST(CausalLmTest, AllHooksInLayerOrder) {
  auto model = Tiny(TinyConfig(Architecture::kQwen2));
  auto hooks = std::make_shared<Recorder>(HookMask::All(3));
  model->SetHooks(hooks);
  Logits(*model, Ids(1, 4));
  EXPECT_EQ(hooks->calls, 3 * kNumComponents);
  EXPECT_EQ(hooks->seen.at({2, Component::kKProj}).size(2), 32);
  EXPECT_EQ(hooks->seen.at({2, Component::kOProj}).size(2), 64);
  EXPECT_EQ(ComponentFromName("mlp_input"), Component::kMlpInput);
  EXPECT_STREQ(ComponentName(Component::kGateProj), "gate_proj");
  EXPECT_FALSE(ComponentFromName("lm_head").has_value());
}

// Doubles the wrapped MLP's output: a stand-in for a module with the MLP's signature.
class DoubledMlp : public FeedForward {
 public:
  explicit DoubledMlp(std::shared_ptr<FeedForward> inner) : FeedForward("DoubledMlp") {
    inner_ = register_module("inner", std::move(inner));
  }
  at::Tensor Forward(const at::Tensor& x_BTD, const LayerContext& ctx) override {
    return 2 * inner_->Forward(x_BTD, ctx);
  }

 private:
  std::shared_ptr<FeedForward> inner_;
};

TEST(CausalLmTest, MlpCanBeReplaced) {
  auto model = Tiny(TinyConfig());
  const at::Tensor ids = Ids(1, 5);
  const at::Tensor before = Logits(*model, ids);
  auto hooks = std::make_shared<Recorder>(HookMask::All(3));
  model->SetHooks(hooks);
  std::shared_ptr<FeedForward> old = model->layer(1).mlp_ptr();
  std::shared_ptr<FeedForward> previous = model->layer(1).ReplaceMlp(std::make_shared<DoubledMlp>(old));
  EXPECT_EQ(previous, old);
  const at::Tensor after = Logits(*model, ids);
  EXPECT_FALSE(after.equal(before));
  EXPECT_EQ(hooks->calls, 3 * kNumComponents);  // hooks still reach the wrapped MLP
  bool renamed = false;
  for (const auto& p : model->named_parameters()) {
    renamed |= p.key() == "model.layers.1.mlp.inner.gate_proj.weight";
  }
  EXPECT_TRUE(renamed);
  // Doubling the MLP output equals scaling its down projection by 2.
  model->layer(1).ReplaceMlp(old);
  {
    torch::NoGradGuard no_grad;
    dynamic_cast<SwiGluMlp&>(*old).down_proj().weight_OI().mul_(2);
  }
  EXPECT_LT(RelErr(Logits(*model, ids), after), 1e-6);
}

// Hooks that take packed rows in an unpadded forward.
class PackedRecorder : public Recorder {
 public:
  using Recorder::Recorder;
  bool TakesPackedRows() const override { return true; }
};

// Right and left padding, three rows of 3, 7 and 5 real tokens.
std::pair<at::Tensor, at::Tensor> PaddedBatch() {
  const at::Tensor ids = Ids(3, 7, 21);
  at::Tensor mask = at::zeros({3, 7}, at::kLong);
  mask[0].narrow(0, 0, 3).fill_(1);
  mask[1].fill_(1);
  mask[2].narrow(0, 2, 5).fill_(1);
  return {ids, mask};
}

TEST(CausalLmTest, UnpaddedForwardEqualsPaddedAtRealTokens) {
  for (const Architecture arch : {Architecture::kLlama, Architecture::kQwen2}) {
    auto model = Tiny(TinyConfig(arch));
    const auto [ids, mask] = PaddedBatch();
    const at::Tensor real_BT = mask.to(at::kBool);
    const auto real = [&](const at::Tensor& x_BTC) { return x_BTC.index({real_BT}); };  // (N,C)
    ForwardOptions padded;
    padded.mask_BT = mask;
    padded.positions_BT = PositionsFromMask(mask);
    padded.output_hidden_states = true;
    ForwardOptions unpadded = padded;
    unpadded.unpad = true;
    auto seen_padded = std::make_shared<Recorder>(HookMask::All(3));
    auto seen_unpadded = std::make_shared<Recorder>(HookMask::All(3));
    auto seen_packed = std::make_shared<PackedRecorder>(HookMask::All(3));
    torch::NoGradGuard no_grad;
    model->SetHooks(seen_padded);
    auto a = model->Forward(ids, padded);
    model->SetHooks(seen_unpadded);
    auto b = model->Forward(ids, unpadded);
    model->SetHooks(seen_packed);
    auto c = model->Forward(ids, unpadded);
    model->SetHooks(nullptr);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(b->logits_BTV.sizes(), a->logits_BTV.sizes());
    EXPECT_LT(RelErr(real(b->logits_BTV), real(a->logits_BTV)), 1e-5);
    EXPECT_LT(RelErr(real(b->last_hidden_BTD), real(a->last_hidden_BTD)), 1e-5);
    EXPECT_EQ(b->logits_BTV.index({real_BT.logical_not()}).abs().max().item<double>(), 0.0);  // padding: zeros
    ASSERT_EQ(b->hidden_states_BTD.size(), a->hidden_states_BTD.size());
    for (size_t i = 0; i < a->hidden_states_BTD.size(); ++i) {
      EXPECT_EQ(b->hidden_states_BTD[i].sizes(), a->hidden_states_BTD[i].sizes());
      EXPECT_LT(RelErr(real(b->hidden_states_BTD[i]), real(a->hidden_states_BTD[i])), 1e-5) << i;
    }
    // Every hook point: padded-layout hooks see (B,T,C) with the padded run's values at
    // real tokens; packed hooks see exactly those real rows, (1,N,C).
    ASSERT_EQ(seen_unpadded->seen.size(), 3u * kNumComponents);
    ASSERT_EQ(seen_packed->seen.size(), 3u * kNumComponents);
    for (const auto& [key, want] : seen_padded->seen) {
      const at::Tensor& got = seen_unpadded->seen.at(key);
      EXPECT_EQ(got.sizes(), want.sizes());
      EXPECT_LT(RelErr(real(got), real(want)), 1e-5) << key.first << ComponentName(key.second);
      const at::Tensor& rows = seen_packed->seen.at(key);
      EXPECT_EQ(rows.sizes(), (std::vector<int64_t>{1, 15, want.size(-1)}));
      EXPECT_TRUE(rows[0].equal(real(got)));
    }
  }
}

TEST(CausalLmTest, UnpadIsANoOpWithoutPaddingOrWithANonDenseMlp) {
  auto model = Tiny(TinyConfig());
  const auto [ids, mask] = PaddedBatch();
  ForwardOptions o;
  o.mask_BT = mask;
  o.unpad = true;
  auto hooks = std::make_shared<PackedRecorder>(HookMask::All(3));
  model->SetHooks(hooks);
  Logits(*model, ids, o);
  EXPECT_EQ(hooks->seen.at({0, Component::kQProj}).sizes(), (std::vector<int64_t>{1, 15, 64}));
  // All tokens real: the padded layout, nothing to pack.
  o.mask_BT = at::ones({3, 7}, at::kLong);
  const at::Tensor full = Logits(*model, ids, o);
  EXPECT_EQ(hooks->seen.at({0, Component::kQProj}).sizes(), (std::vector<int64_t>{3, 7, 64}));
  o.unpad = false;
  EXPECT_TRUE(Logits(*model, ids, o).equal(full));
  // A replaced (not SwiGluMlp) MLP may pool over the batch: the padded forward runs.
  model->layer(1).ReplaceMlp(std::make_shared<DoubledMlp>(model->layer(1).mlp_ptr()));
  o.mask_BT = mask;
  o.unpad = true;
  Logits(*model, ids, o);
  EXPECT_EQ(hooks->seen.at({0, Component::kQProj}).sizes(), (std::vector<int64_t>{3, 7, 64}));
}

TEST(CausalLmTest, UnpaddedForwardBackpropagates) {
  auto model = Tiny(TinyConfig());
  const auto [ids, mask] = PaddedBatch();
  ForwardOptions o;
  o.mask_BT = mask;
  o.unpad = true;
  auto out = model->Forward(ids, o);
  ASSERT_TRUE(out.ok());
  out->logits_BTV.index({mask.to(at::kBool)}).logsumexp(-1).sum().backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(CausalLmTest, Bf16WeightsAndAutocastStayCloseToFp32) {
  const at::Tensor ids = Ids(2, 16);
  auto fp32 = Tiny(TinyConfig(), 5, at::kFloat);
  auto bf16 = Tiny(TinyConfig(), 5, at::kBFloat16);  // the same draws, rounded
  const at::Tensor ref = Logits(*fp32, ids);
  const at::Tensor low = Logits(*bf16, ids);
  EXPECT_EQ(low.scalar_type(), at::kBFloat16);
  const double bf16_err = RelErr(low, ref);
  EXPECT_LT(bf16_err, 0.05) << "bf16 weights";

  auto hooks = std::make_shared<Recorder>(HookMask::All(3));
  fp32->SetHooks(hooks);
  at::Tensor mixed;
  {
    CpuAutocast autocast(true);
    mixed = Logits(*fp32, ids);
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(hooks->seen.at({0, Component::kQProj}).scalar_type(), at::kBFloat16);  // linears ran in bf16
  EXPECT_EQ(hooks->seen.at({0, Component::kMlpInput}).scalar_type(), at::kFloat);  // norms in fp32
  const double autocast_err = RelErr(mixed, ref);
  EXPECT_LT(autocast_err, 0.03) << "autocast";
  EXPECT_GT(autocast_err, 0.0);  // it really ran in lower precision
  std::printf("bf16 weights: max|d|/max|ref| = %.3g; autocast bf16: %.3g\n", bf16_err, autocast_err);

  // Training under autocast: fp32 master weights get fp32 gradients close to fp32's.
  fp32->SetHooks(nullptr);
  auto grad_of = [&](bool autocast) {
    fp32->zero_grad();
    CpuAutocast guard(autocast);
    auto out = fp32->Forward(ids);
    EXPECT_TRUE(out.ok());
    NextTokenLoss(out->logits_BTV, ids)->mean.backward();
    return fp32->named_parameters()["model.layers.1.mlp.up_proj.weight"].grad().clone();
  };
  const at::Tensor g32 = grad_of(false), g16 = grad_of(true);
  EXPECT_EQ(g16.scalar_type(), at::kFloat);
  EXPECT_LT(RelErr(g16, g32), 0.05);
  std::printf("autocast gradient (layer 1 up_proj): %.3g\n", RelErr(g16, g32));
}

TEST(CausalLmTest, BackwardReachesEveryParameter) {
  auto model = Tiny(TinyConfig(Architecture::kQwen2, /*tied=*/true));
  const at::Tensor ids = Ids(2, 6);
  auto out = model->Forward(ids);
  ASSERT_TRUE(out.ok());
  auto loss = NextTokenLoss(out->logits_BTV, ids);
  ASSERT_TRUE(loss.ok()) << loss.status();
  loss->mean.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(LossTest, MatchesManualCrossEntropyWithMaskAndIgnore) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  const at::Tensor logits = at::randn({2, 4, 10}, gen);
  at::Tensor targets = at::randint(0, 10, {2, 4}, gen, at::kLong);
  targets[1][2] = kIgnoreIndex;
  at::Tensor mask = at::ones({2, 4}, at::kLong);
  mask[0][3] = 0;
  auto loss = NextTokenLoss(logits, targets, mask);
  ASSERT_TRUE(loss.ok()) << loss.status();
  const at::Tensor logp = logits.log_softmax(-1);
  double sum = 0;
  int count = 0;
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 3; ++t) {
      const int64_t y = targets[b][t + 1].item<int64_t>();
      if (y == kIgnoreIndex || mask[b][t + 1].item<int64_t>() == 0) continue;
      sum -= logp[b][t][y].item<double>();
      ++count;
    }
  }
  EXPECT_EQ(count, 4);
  EXPECT_EQ(loss->count.item<int64_t>(), count);
  EXPECT_NEAR(loss->sum.item<double>(), sum, 1e-5);
  EXPECT_NEAR(loss->mean.item<double>(), sum / count, 1e-6);
  targets[0][1] = 10;
  EXPECT_THAT(NextTokenLoss(logits, targets).status().message(), HasSubstr("outside [0, 10)"));
  EXPECT_FALSE(NextTokenLoss(logits, targets.narrow(1, 0, 3)).ok());
}

TEST(InitTest, SeededAndShapedLikeTransformers) {
  auto a = Tiny(TinyConfig(), 1), b = Tiny(TinyConfig(), 1), c = Tiny(TinyConfig(), 2);
  auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  const at::Tensor w = pa["model.layers.0.mlp.up_proj.weight"];
  EXPECT_TRUE(w.equal(pb["model.layers.0.mlp.up_proj.weight"]));
  EXPECT_FALSE(w.equal(pc["model.layers.0.mlp.up_proj.weight"]));
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.001);
  EXPECT_TRUE(pa["model.norm.weight"].eq(1).all().item<bool>());
  auto q = Tiny(TinyConfig(Architecture::kQwen2), 1);
  EXPECT_TRUE(q->named_parameters()["model.layers.2.self_attn.k_proj.bias"].eq(0).all().item<bool>());
}

TEST(RopeTest, Llama3RuleBands) {
  const ModelConfig c = TinyConfig();
  const at::Tensor plain = RopeInverseFrequencies(16, 10000.0, std::nullopt);
  const at::Tensor scaled = RopeInverseFrequencies(16, 10000.0, c.rope_scaling);
  // wavelengths 2*pi/f: 6.3 (< 16: kept), 19.9 and 62.8 (blended), >= 199 (> 64: / 8).
  EXPECT_FLOAT_EQ(scaled[0].item<float>(), plain[0].item<float>());
  for (int i = 3; i < 8; ++i) EXPECT_FLOAT_EQ(scaled[i].item<float>(), plain[i].item<float>() / 8);
  for (int i : {1, 2}) {
    const double f = plain[i].item<double>(), wavelen = 2 * std::numbers::pi / f;
    const double s = (64 / wavelen - 1.0) / 3.0;
    EXPECT_NEAR(scaled[i].item<double>(), (1 - s) * f / 8 + s * f, 1e-7);
  }
}

}  // namespace
}  // namespace nmoe::model
