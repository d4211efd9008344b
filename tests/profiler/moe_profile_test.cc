// Profiling MoE models (model/moe_mlp.h hook points): an MoE layer's gate/up/down
// neurons are each token's routing-weighted sum over its top-k experts.
//   - Upcycled (every expert a copy of the dense MLP, weights summing to 1): the
//     profile equals the dense model's (responses to float rounding).
//   - Experts made different: the hooks equal a hand-computed dense formulation (every
//     expert on every token, unchosen experts weighted 0) from the layer's MLP input;
//     layers before the first MoE layer keep the dense responses exactly.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn_like.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <random>

#include "model/checkpoint.h"
#include "model/moe_mlp.h"
#include "profiler/profile_run.h"
#include "trainer/moe_model.h"
#include "trainer/presets.h"

namespace nmoe::profiler {
namespace {

constexpr int64_t kVocab = 64;
const std::vector<int64_t> kExperts = {1, 3, 1, 2};  // tiny preset: 4 layers

std::shared_ptr<model::CausalLm> Dense() {
  auto config = trainer::PresetConfig("tiny", kVocab, 1, 2);
  auto m = model::NewRandomModel(*config, 31);
  (*m)->eval();
  return *m;
}

std::vector<SentenceBatch> Batches() {
  std::mt19937 rng(4);
  std::vector<ProfileSentence> out;
  for (int l = 0; l < 2; ++l) {
    for (int i = 0; i < 8; ++i) {
      ProfileSentence s;
      s.id = static_cast<int64_t>(out.size());
      s.language = l;
      const int len = 3 + static_cast<int>(rng() % 12);
      s.ids.push_back(1);
      for (int t = 1; t < len; ++t) s.ids.push_back(3 + static_cast<int32_t>(rng() % 60));
      out.push_back(std::move(s));
    }
  }
  return MakeBatches(out, 48);
}

ResponseRows Responses(model::CausalLm& m) {
  RunOptions o;
  o.collect.ap = true;
  // An MoE model always runs the padded forward; the dense one would unpad (equal to
  // rounding, not bit-identical), so both run padded to compare bit for bit.
  o.unpad = false;
  auto collected = CollectProfile(m, {"aa", "bb"}, Batches(), o);
  EXPECT_TRUE(collected.ok()) << collected.status();
  auto rows = collected->responses->ReadChunk(0);
  EXPECT_TRUE(rows.ok());
  return std::move(*rows);
}

// Largest |a - b| over the neurons of `layer` (all components), relative to max |b|.
double LayerDiff(const NeuronSpace& space, const ResponseRows& a, const ResponseRows& b, int32_t layer) {
  double diff = 0, scale = 1e-12;
  const int64_t n = space.size();
  const int64_t begin = space.Offset(layer, Proj::kQ);
  const int64_t end = layer + 1 < space.num_layers() ? space.Offset(layer + 1, Proj::kQ) : n;
  for (size_t r = 0; r < a.rows(); ++r) {
    for (int64_t u = begin; u < end; ++u) {
      const double x = a.values[r * static_cast<size_t>(n) + static_cast<size_t>(u)];
      const double y = b.values[r * static_cast<size_t>(n) + static_cast<size_t>(u)];
      diff = std::max(diff, std::abs(x - y));
      scale = std::max(scale, std::abs(y));
    }
  }
  return diff / scale;
}

TEST(MoeProfileTest, UpcycledMoeProfilesAsTheDenseModel) {
  auto dense = Dense();
  auto moe = trainer::BuildMoeModel(*dense, kExperts, 2, 5);
  ASSERT_TRUE(moe.ok()) << moe.status();
  (*moe)->eval();
  auto space = SpaceFor(dense->config(), {});
  ASSERT_TRUE(space.ok());
  const ResponseRows d = Responses(*dense);
  const ResponseRows m = Responses(**moe);
  ASSERT_EQ(d.sentence_ids, m.sentence_ids);
  ASSERT_EQ(m.values.size(), d.values.size()) << "an MoE layer has the dense layer's neurons";
  for (int32_t l = 0; l < 4; ++l) EXPECT_LT(LayerDiff(*space, m, d, l), 1e-5) << "layer " << l;

  // Make layer 1's experts differ: its MLP neurons move, layer 0 stays bit-identical.
  {
    torch::NoGradGuard no_grad;
    auto* layer = dynamic_cast<model::MoeMlp*>(&(*moe)->layer(1).mlp());
    ASSERT_NE(layer, nullptr);
    at::manual_seed(3);
    for (int64_t e = 1; e < layer->num_experts(); ++e) {
      for (auto& p : layer->expert(e).parameters()) p.add_(at::randn_like(p) * 0.05);
    }
  }
  const ResponseRows changed = Responses(**moe);
  EXPECT_EQ(LayerDiff(*space, changed, d, 0), 0.0);
  EXPECT_GT(LayerDiff(*space, changed, d, 1), 1e-3);
}

// Records the wanted activations of one forward.
class Recorder : public model::ActivationHooks {
 public:
  explicit Recorder(int64_t layers) : ActivationHooks(model::HookMask::All(layers)) {}
  void OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) override {
    seen[{layer, static_cast<int>(c)}] = out_BTC.detach().clone();
  }
  std::map<std::pair<int64_t, int>, at::Tensor> seen;
};

TEST(MoeProfileTest, HooksEqualTheDenseFormulation) {
  auto dense = Dense();
  auto built = trainer::BuildMoeModel(*dense, kExperts, 2, 6);
  ASSERT_TRUE(built.ok());
  auto moe = *built;
  moe->eval();
  torch::NoGradGuard no_grad;
  at::manual_seed(8);
  for (int64_t l : {1, 3}) {
    auto* layer = dynamic_cast<model::MoeMlp*>(&moe->layer(l).mlp());
    for (int64_t e = 0; e < layer->num_experts(); ++e) {
      for (auto& p : layer->expert(e).parameters()) p.add_(at::randn_like(p) * 0.1);
    }
  }
  const SentenceBatch batch = Batches().front();
  auto rec = std::make_shared<Recorder>(4);
  moe->SetHooks(rec);
  model::ForwardOptions fwd;
  fwd.mask_BT = batch.mask_BT;
  fwd.compute_logits = false;
  ASSERT_TRUE(moe->Forward(batch.ids_BT, fwd).ok());
  moe->SetHooks(nullptr);
  for (int64_t l : {1, 3}) {
    auto* layer = dynamic_cast<model::MoeMlp*>(&moe->layer(l).mlp());
    const at::Tensor x = rec->seen.at({l, static_cast<int>(model::Component::kMlpInput)}).to(at::kDouble);  // B,T,D
    const int64_t E = layer->num_experts(), K = std::min<int64_t>(2, E);
    const at::Tensor probs = at::softmax(at::matmul(x, layer->router().weight_OI().to(at::kDouble).t()), -1);
    auto [top_p, top_i] = probs.topk(K, -1);
    const at::Tensor w_BTK = top_p / top_p.sum(-1, true);
    // Dense: weight of every expert per token (0 when not chosen).
    at::Tensor w_BTE = at::zeros(probs.sizes(), at::kDouble).scatter(-1, top_i, w_BTK);
    at::Tensor gate = at::zeros({x.size(0), x.size(1), dense->config().intermediate_size}, at::kDouble);
    at::Tensor up = gate.clone(), down = at::zeros_like(x);
    for (int64_t e = 0; e < E; ++e) {
      const model::SwiGluMlp& ex = layer->expert(e);
      const at::Tensor g = at::matmul(x, ex.gate_proj().weight_OI().to(at::kDouble).t());
      const at::Tensor u = at::matmul(x, ex.up_proj().weight_OI().to(at::kDouble).t());
      const at::Tensor d = at::matmul(at::silu(g) * u, ex.down_proj().weight_OI().to(at::kDouble).t());
      const at::Tensor w = w_BTE.select(-1, e).unsqueeze(-1);
      gate += w * g;
      up += w * u;
      down += w * d;
    }
    const std::pair<model::Component, at::Tensor> expected[] = {
        {model::Component::kGateProj, gate}, {model::Component::kUpProj, up}, {model::Component::kDownProj, down}};
    for (const auto& [c, want] : expected) {
      const at::Tensor got = rec->seen.at({l, static_cast<int>(c)}).to(at::kDouble);
      ASSERT_EQ(got.sizes(), want.sizes());
      const double err = (got - want).abs().max().item<double>() / want.abs().max().item<double>();
      EXPECT_LT(err, 1e-5) << "layer " << l << " " << model::ComponentName(c);
    }
    // The check can fail: expert 0 alone is not the mixture.
    const at::Tensor only0 = at::matmul(x, layer->expert(0).gate_proj().weight_OI().to(at::kDouble).t());
    EXPECT_GT((only0 - gate).abs().max().item<double>() / gate.abs().max().item<double>(), 1e-3);
  }
}

}  // namespace
}  // namespace nmoe::profiler
