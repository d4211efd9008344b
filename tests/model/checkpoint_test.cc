// Checkpoint folders: save/load round trips, sharding, dtype conversion, precise errors.
#include "model/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <fstream>

#include "model/tensor_io.h"
#include "nlohmann/json.hpp"
#include "tests/model/tiny_config.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace nmoe::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TinyConfig;
namespace fs = std::filesystem;

at::Tensor LogitsOf(CausalLm& model) {
  torch::NoGradGuard no_grad;
  auto out = model.Forward(at::arange(12, at::kLong).view({2, 6}) * 7);
  EXPECT_TRUE(out.ok()) << out.status();
  return out->logits_BTV;
}

NamedTensors Params(const CausalLm& model) {
  NamedTensors out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value().detach());
  return out;
}

TEST(CheckpointTest, RoundTripsTiedAndUntied) {
  for (bool tied : {false, true}) {
    nmoe::testing::TempDir dir;
    auto model = NewRandomModel(TinyConfig(Architecture::kLlama, tied), 3);
    ASSERT_TRUE(model.ok()) << model.status();
    std::ofstream(dir.file("source-tokenizer.json")) << R"({"model": {}})";
    SaveModelOptions save;
    save.tokenizer_json = dir.file("source-tokenizer.json");
    ASSERT_TRUE(SavePretrained(**model, dir.file("ckpt"), save).ok());
    EXPECT_TRUE(fs::exists(dir.file("ckpt/model.safetensors")));
    EXPECT_EQ(::nmoe::testing::ReadWholeFile(dir.file("ckpt/tokenizer.json")), R"({"model": {}})");
    const nlohmann::json config = nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("ckpt/config.json")));
    EXPECT_EQ(config["architectures"][0], "LlamaForCausalLM");
    EXPECT_EQ(config["torch_dtype"], "float32");
    auto loaded = LoadPretrained(dir.file("ckpt"));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(loaded->report.unexpected.empty());
    EXPECT_EQ(loaded->model->lm_head() == nullptr, tied);
    EXPECT_TRUE(LogitsOf(*loaded->model).equal(LogitsOf(**model)));
  }
}

TEST(CheckpointTest, ShardedBf16SaveLoadsIntoFp32) {
  nmoe::testing::TempDir dir;
  auto model = NewRandomModel(TinyConfig(Architecture::kQwen2), 4);
  ASSERT_TRUE(model.ok());
  SaveModelOptions save;
  save.dtype = at::kBFloat16;
  save.max_shard_bytes = 40'000;  // several shards
  ASSERT_TRUE(SavePretrained(**model, dir.path().string(), save).ok());
  EXPECT_TRUE(fs::exists(dir.file("model.safetensors.index.json")));
  EXPECT_FALSE(fs::exists(dir.file("model.safetensors")));
  EXPECT_EQ(nlohmann::json::parse(::nmoe::testing::ReadWholeFile(dir.file("config.json")))["torch_dtype"], "bfloat16");
  auto loaded = LoadPretrained(dir.path().string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  // Weights equal the bf16-rounded originals.
  auto want = (*model)->named_parameters();
  for (const auto& p : loaded->model->named_parameters()) {
    EXPECT_EQ(p.value().scalar_type(), at::kFloat);
    EXPECT_TRUE(p.value().equal(want[p.key()].to(at::kBFloat16).to(at::kFloat))) << p.key();
  }
  LoadModelOptions bf16;
  bf16.dtype = at::kBFloat16;
  auto low = LoadPretrained(dir.path().string(), bf16);
  ASSERT_TRUE(low.ok()) << low.status();
  EXPECT_EQ(low->model->embed_tokens().weight_VD().scalar_type(), at::kBFloat16);
}

class BrokenCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = NewRandomModel(TinyConfig(), 5);
    ASSERT_TRUE(model.ok());
    model_ = *model;
    ASSERT_TRUE(SaveModelConfig(model_->config(), dir_.file("config.json")).ok());
  }
  absl::StatusOr<LoadedModel> LoadWith(NamedTensors tensors, bool strict = false) {
    EXPECT_TRUE(SaveFile(dir_.file("model.safetensors"), tensors).ok());
    LoadModelOptions options;
    options.strict_unexpected = strict;
    return LoadPretrained(dir_.path().string(), options);
  }
  nmoe::testing::TempDir dir_;
  std::shared_ptr<CausalLm> model_;
};

TEST_F(BrokenCheckpointTest, MissingTensorIsNamed) {
  NamedTensors tensors = Params(*model_);
  std::erase_if(tensors, [](const auto& t) { return t.first == "model.layers.2.mlp.up_proj.weight"; });
  auto loaded = LoadWith(tensors);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("missing tensor 'model.layers.2.mlp.up_proj.weight' (shape [96, 64] expected)"));
}

TEST_F(BrokenCheckpointTest, WrongShapeIsNamed) {
  NamedTensors tensors = Params(*model_);
  for (auto& [name, t] : tensors) {
    if (name == "model.norm.weight") t = at::ones({8});
  }
  auto loaded = LoadWith(tensors);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("'model.norm.weight' has shape [8], expected [64]"));
}

TEST_F(BrokenCheckpointTest, UnexpectedTensorsAreReported) {
  NamedTensors tensors = Params(*model_);
  tensors.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::ones({8}));
  tensors.emplace_back("extra.weight", at::ones({2}));
  auto loaded = LoadWith(tensors);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->report.unexpected,
              ElementsAre("extra.weight", "model.layers.0.self_attn.rotary_emb.inv_freq"));
  auto strict = LoadWith(tensors, /*strict=*/true);
  EXPECT_THAT(strict.status().message(), HasSubstr("unexpected tensors: extra.weight"));
}

TEST_F(BrokenCheckpointTest, MissingFilesAreErrors) {
  EXPECT_FALSE(LoadPretrained(dir_.path().string()).ok());  // no weights
  EXPECT_EQ(LoadPretrained(dir_.file("nowhere")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace nmoe::model
