// Numerics against an independent Python implementation (tests/model/reference_llama.py,
// Debian's /usr/bin/python3 with torch 1.13, no transformers): the C++ model writes a
// random-weight tiny checkpoint in HF layout, the reference reads it with its own
// safetensors parser, and both run the same token ids.
//
// Metric: err = max |cpp - ref| / max |ref| over the real (unpadded) positions of the
// logits (and of captured activations). Required: err < 1e-5 in fp32.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "model/checkpoint.h"
#include "model/moe_losses.h"
#include "model/tensor_io.h"
#include "nlohmann/json.hpp"
#include "tests/model/tiny_config.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::model {
namespace {

using testing::TinyConfig;

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// Random weights with every parameter non-trivial: transformers' init, then norm weights
// and biases moved off 1 and 0, and a wider spread so activations are far from zero.
std::shared_ptr<CausalLm> RandomModel(const ModelConfig& config, uint64_t seed) {
  auto model = NewRandomModel(config, seed);
  EXPECT_TRUE(model.ok()) << model.status();
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed + 1000);
  for (auto& p : (*model)->named_parameters()) {
    at::Tensor noise = at::empty(p.value().sizes(), at::kFloat).normal_(0.0, 1.0, gen);
    if (p.value().dim() == 1) {
      p.value().add_(noise * 0.1);  // norm weights ~ 1 +- 0.1, biases ~ +-0.1
    } else {
      p.value().mul_(4.0);  // std 0.08
    }
  }
  return *model;
}

// Position-wise max |a-b| / max |b| over the rows where mask_BT is 1.
double MaskedRelErr(const at::Tensor& got_BTC, const at::Tensor& want_BTC, const at::Tensor& mask_BT) {
  const at::Tensor keep = mask_BT.to(at::kBool);
  const at::Tensor a = got_BTC.to(at::kDouble).index({keep});
  const at::Tensor b = want_BTC.to(at::kDouble).index({keep});
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

struct Variant {
  const char* name;
  ModelConfig config;
};

std::vector<Variant> Variants() {
  ModelConfig llama_bias = TinyConfig(Architecture::kLlama, /*tied=*/true);
  llama_bias.attention_bias = true;
  llama_bias.mlp_bias = true;
  // MoE layers (moe_mlp.h): layer 0 with n_l = 2 <= k (every expert), layer 2 top-2 of 4;
  // and top-1 routing with bias-carrying experts.
  ModelConfig llama_moe = TinyConfig(Architecture::kLlama, /*tied=*/true);
  llama_moe.experts_per_layer = {2, 1, 4};
  ModelConfig qwen_moe_top1 = TinyConfig(Architecture::kQwen2, /*tied=*/false);
  qwen_moe_top1.experts_per_layer = {1, 3, 3};
  qwen_moe_top1.num_experts_per_tok = 1;
  return {{"llama_untied_llama3_rope", TinyConfig(Architecture::kLlama, false)},
          {"llama_tied_bias", llama_bias},
          {"qwen2_untied", TinyConfig(Architecture::kQwen2, false)},
          {"qwen2_tied", TinyConfig(Architecture::kQwen2, true)},
          {"llama_moe_top2", llama_moe},
          {"qwen2_moe_top1", qwen_moe_top1}};
}

// Every key is a hook point; in MoE layers (llama_moe: 0 and 2, qwen2_moe_top1: 1 and
// 2) gate/up/down are the routing-weighted sums over the chosen experts (moe_mlp.h).
const std::vector<std::string> kCapture = {"0.q_proj",  "0.k_proj",    "1.v_proj",  "1.o_proj",   "1.gate_proj",
                                           "1.up_proj", "2.down_proj", "0.up_proj", "2.gate_proj", "1.mlp_input"};

class Recorder : public ActivationHooks {
 public:
  using ActivationHooks::ActivationHooks;
  void OnActivation(int64_t layer, Component c, const at::Tensor& out) override {
    seen[absl::StrCat(layer, ".", ComponentName(c))] = out.detach().clone();
  }
  std::map<std::string, at::Tensor> seen;
};

nlohmann::json ToList(const at::Tensor& x_BT) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < x_BT.size(0); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < x_BT.size(1); ++j) row.push_back(x_BT[i][j].item<int64_t>());
    rows.push_back(row);
  }
  return rows;
}

// Every variant's checkpoint is written and the reference run for all of them in ONE
// Python process (importing torch costs seconds on these machines).
class ReferenceTest : public ::testing::TestWithParam<int> {
 protected:
  struct Case {
    std::shared_ptr<CausalLm> model;
    std::map<std::string, std::map<std::string, at::Tensor>> ref;  // dtype -> outputs
  };

  static void SetUpTestSuite() {
    at::set_num_threads(1);  // the reference runs with --threads 1
    dir_ = new nmoe::testing::TempDir();
    // 3 x 12: a full row, a right-padded row and a left-padded row (positions from the
    // mask, given to both sides).
    at::Generator gen = at::detail::createCPUGenerator(99);
    ids_ = at::randint(0, 256, {3, 12}, gen, at::kLong);
    mask_ = at::ones({3, 12}, at::kLong);
    mask_[1].narrow(0, 8, 4).zero_();
    mask_[2].narrow(0, 0, 5).zero_();
    positions_ = PositionsFromMask(mask_);
    old_ = at::zeros({3, 12}, at::kLong);  // "old-language" tokens for the LPR loss
    old_[0].fill_(1);
    old_[2].narrow(0, 6, 6).fill_(1);
    const nlohmann::json request = {{"ids", ToList(ids_)},
                                    {"mask", ToList(mask_)},
                                    {"positions", ToList(positions_)},
                                    {"capture", kCapture},
                                    {"old", ToList(old_)}};
    std::ofstream(dir_->file("request.json")) << request.dump();

    nlohmann::json jobs = nlohmann::json::array();
    cases_ = new std::vector<Case>();
    const std::vector<Variant> variants = Variants();
    for (size_t i = 0; i < variants.size(); ++i) {
      Case c;
      c.model = RandomModel(variants[i].config, 17 + i);
      const std::string ckpt = dir_->file(variants[i].name);
      setup_status_ = SavePretrained(*c.model, ckpt);
      if (!setup_status_.ok()) return;
      for (const char* dtype : {"float32", "float64"}) {
        jobs.push_back({{"checkpoint", ckpt},
                        {"ids", dir_->file("request.json")},
                        {"out", absl::StrCat(ckpt, "-", dtype, ".safetensors")},
                        {"dtype", dtype}});
      }
      cases_->push_back(std::move(c));
    }
    std::ofstream(dir_->file("jobs.json")) << jobs.dump();
    auto child = nmoe::testing::ChildProcess::Start(
        {"/usr/bin/python3", SourceDir() + "/tests/model/reference_llama.py", "--jobs", dir_->file("jobs.json"),
         "--threads", "1"},
        dir_->file("python.log"));
    if (!child.ok()) {
      setup_status_ = child.status();
      return;
    }
    auto code = child->Wait(absl::Seconds(240));
    if (!code.ok() || *code != 0) {
      std::ifstream log(dir_->file("python.log"));
      setup_status_ = absl::InternalError(absl::StrCat("reference_llama.py failed: ",
                                                       std::string(std::istreambuf_iterator<char>(log), {})));
      return;
    }
    for (size_t i = 0; i < variants.size(); ++i) {
      for (const char* dtype : {"float32", "float64"}) {
        auto file = safetensors::Checkpoint::Open(absl::StrCat(dir_->file(variants[i].name), "-", dtype, ".safetensors"));
        if (!file.ok()) {
          setup_status_ = file.status();
          return;
        }
        auto all = LoadAll(**file);
        if (!all.ok()) {
          setup_status_ = all.status();
          return;
        }
        (*cases_)[i].ref[dtype] = std::move(*all);
      }
    }
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete dir_;
  }

  static inline nmoe::testing::TempDir* dir_ = nullptr;
  static inline std::vector<Case>* cases_ = nullptr;
  static inline absl::Status setup_status_;
  static inline at::Tensor ids_, mask_, positions_, old_;
};

TEST_P(ReferenceTest, LogitsAndHooksMatchPython) {
  ASSERT_TRUE(setup_status_.ok()) << setup_status_;
  const Variant v = Variants()[static_cast<size_t>(GetParam())];
  Case& c = (*cases_)[static_cast<size_t>(GetParam())];
  HookMask hook_mask(v.config.num_hidden_layers);
  for (const std::string& key : kCapture) {
    hook_mask.Set(std::stoi(key.substr(0, 1)), *ComponentFromName(key.substr(2)));
  }
  auto hooks = std::make_shared<Recorder>(hook_mask);
  c.model->SetHooks(hooks);
  ForwardOptions options;
  options.mask_BT = mask_;
  options.positions_BT = positions_;
  torch::NoGradGuard no_grad;
  auto out = c.model->Forward(ids_, options);
  ASSERT_TRUE(out.ok()) << out.status();

  for (const char* dtype : {"float32", "float64"}) {
    const auto& ref = c.ref.at(dtype);
    const double logits_err = MaskedRelErr(out->logits_BTV, ref.at("logits"), mask_);
    std::printf("%s vs %s reference: logits %.3g", v.name, dtype, logits_err);
    EXPECT_LT(logits_err, 1e-5) << v.name << " logits vs " << dtype;
    for (const std::string& key : kCapture) {
        ASSERT_TRUE(ref.count(key)) << key;
      const double err = MaskedRelErr(hooks->seen.at(key), ref.at(key), mask_);
      std::printf(", %s %.3g", key.c_str(), err);
      EXPECT_LT(err, 1e-5) << v.name << " " << key << " vs " << dtype;
    }
    std::printf("\n");
  }
  // The check can fail: one perturbed weight moves the logits far beyond the tolerance.
  c.model->layer(2).self_attn().k_proj().weight_OI()[0][0].add_(0.05);
  auto perturbed = c.model->Forward(ids_, options);
  ASSERT_TRUE(perturbed.ok());
  EXPECT_GT(MaskedRelErr(perturbed->logits_BTV, c.ref.at("float32").at("logits"), mask_), 1e-5);
  c.model->layer(2).self_attn().k_proj().weight_OI()[0][0].sub_(0.05);  // later tests use the model
}

// Routing choices and the auxiliary losses of every MoE layer (moe_losses.h) against the
// reference's dense formulation, in fp32 and float64.
TEST_P(ReferenceTest, MoeRoutingAndLossesMatchPython) {
  ASSERT_TRUE(setup_status_.ok()) << setup_status_;
  const Variant v = Variants()[static_cast<size_t>(GetParam())];
  if (!v.config.is_moe()) GTEST_SKIP() << v.name << " has no MoE layer";
  Case& c = (*cases_)[static_cast<size_t>(GetParam())];
  c.model->SetHooks(nullptr);
  std::vector<MoeMlp*> moe = MoeLayers(*c.model);
  ASSERT_EQ(moe.size(), 2u);
  for (MoeMlp* layer : moe) layer->set_record_routing(true);
  ForwardOptions options;
  options.mask_BT = mask_;
  options.positions_BT = positions_;
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(c.model->Forward(ids_, options).ok());
  int64_t index = 0;
  for (int64_t l = 0; l < v.config.num_hidden_layers; ++l) {
    if (v.config.ExpertsInLayer(l) < 2) continue;
    const RouterOutputs& r = moe[static_cast<size_t>(index++)]->last_routing();
    const at::Tensor keep_N = mask_.reshape({-1}).to(at::kBool);
    const auto& ref32 = c.ref.at("float32");
    const at::Tensor want_NK = ref32.at(absl::StrCat(l, ".experts")).reshape({-1, r.experts_NK.size(1)});
    EXPECT_TRUE(at::equal(r.experts_NK.index({keep_N}), want_NK.index({keep_N}))) << v.name << " layer " << l;
    const double balance = SwitchBalanceLoss(r).item<double>();
    const double zloss = RouterZLoss(r).item<double>();
    const double lpr = LprLoss(r, old_.reshape({-1})).item<double>();
    for (const char* dtype : {"float32", "float64"}) {
      const auto& ref = c.ref.at(dtype);
      EXPECT_NEAR(balance, ref.at(absl::StrCat(l, ".balance")).item<double>(), 1e-5) << v.name << " " << dtype;
      EXPECT_NEAR(zloss, ref.at(absl::StrCat(l, ".zloss")).item<double>(), 1e-5 * std::max(1.0, zloss));
      EXPECT_NEAR(lpr, ref.at(absl::StrCat(l, ".lpr")).item<double>(), 1e-5) << v.name << " " << dtype;
    }
    std::printf("%s layer %ld: balance %.6f z-loss %.6f lpr %.6f\n", v.name, static_cast<long>(l), balance, zloss,
                lpr);
  }
  for (MoeMlp* layer : moe) layer->set_record_routing(false);
}

INSTANTIATE_TEST_SUITE_P(Variants, ReferenceTest, ::testing::Range(0, 6),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(Variants()[static_cast<size_t>(info.param)].name);
                         });

}  // namespace
}  // namespace nmoe::model
