// ModelConfig: parsing real Hugging Face config.json files, validation errors, writing.
#include "model/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace nmoe::model {
namespace {

using ::testing::HasSubstr;

// meta-llama/Llama-3.2-3B's config.json (published values).
constexpr const char* kLlama32_3B = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 3072, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 24, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

// Qwen/Qwen2.5-0.5B's config.json (published values).
constexpr const char* kQwen25_05B = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936})";

// A copy of `base` with `patch` merged in (null values delete keys).
std::string Patched(const char* base, const char* patch) {
  nlohmann::json j = nlohmann::json::parse(base);
  j.merge_patch(nlohmann::json::parse(patch));
  return j.dump();
}

TEST(ModelConfigTest, ParsesLlama32_3B) {
  auto c = ParseModelConfig(kLlama32_3B);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, Architecture::kLlama);
  EXPECT_EQ(c->hidden_size, 3072);
  EXPECT_EQ(c->num_key_value_heads, 8);
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c->rope_scaling->factor, 32.0);
  EXPECT_EQ(c->rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->qkv_bias());
  EXPECT_EQ(c->torch_dtype, "bfloat16");
  EXPECT_EQ(c->bos_token_id, 128000);
  EXPECT_EQ(c->eos_token_ids, std::vector<int64_t>{128001});
  EXPECT_EQ(c->NumParameters(), 3'212'749'824);  // the published 3.21B
}

TEST(ModelConfigTest, ParsesQwen25_05B) {
  auto c = ParseModelConfig(kQwen25_05B);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, Architecture::kQwen2);
  EXPECT_EQ(c->head_dim, 64);  // hidden / heads
  EXPECT_TRUE(c->qkv_bias());
  EXPECT_FALSE(c->o_bias());
  EXPECT_FALSE(c->mlp_has_bias());
  EXPECT_FALSE(c->rope_scaling.has_value());
  EXPECT_EQ(c->NumParameters(), 494'032'768);  // the published 0.49B
}

TEST(ModelConfigTest, DefaultsFollowTransformers) {
  auto c = ParseModelConfig(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_key_value_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_EQ(c->torch_dtype, "float32");
  EXPECT_FALSE(c->bos_token_id.has_value());
  EXPECT_TRUE(c->eos_token_ids.empty());
}

TEST(ModelConfigTest, AcceptsEosListTypeKeyAndNewerNames) {
  // Older configs name the rope type "type".
  auto c = ParseModelConfig(Patched(kLlama32_3B, R"({"rope_scaling": {"type": "llama3", "rope_type": null}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c->rope_scaling->factor, 32.0);
  // A llama3 rule without its factors names the missing one.
  c = ParseModelConfig(Patched(kLlama32_3B, R"({"rope_scaling": {"factor": null}})"));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("missing required field 'rope_scaling.factor'"));
  c = ParseModelConfig(Patched(kLlama32_3B, R"({"eos_token_id": [128001, 128008, 128009],
      "torch_dtype": null, "dtype": "float32"})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c->torch_dtype, "float32");
  // transformers v5: rope_parameters carries the theta and the scaling rule.
  c = ParseModelConfig(Patched(kLlama32_3B, R"({"rope_scaling": null, "rope_theta": null,
      "rope_parameters": {"rope_type": "llama3", "rope_theta": 250000.0, "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->rope_theta, 250000.0);
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c->rope_scaling->factor, 8.0);
  c = ParseModelConfig(Patched(kLlama32_3B, R"({"rope_scaling": {"rope_type": "default"}})"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->rope_scaling.has_value());
}

struct BadCase {
  const char* patch;
  absl::StatusCode code;
  const char* message;
};

TEST(ModelConfigTest, PreciseErrors) {
  const BadCase cases[] = {
      {R"({"hidden_size": null})", absl::StatusCode::kInvalidArgument, "missing required field 'hidden_size'"},
      {R"({"model_type": null})", absl::StatusCode::kInvalidArgument, "missing required field 'model_type'"},
      {R"({"num_hidden_layers": -2})", absl::StatusCode::kInvalidArgument, "num_hidden_layers must be > 0, got -2"},
      {R"({"intermediate_size": 0})", absl::StatusCode::kInvalidArgument, "intermediate_size must be > 0"},
      {R"({"hidden_size": "3072"})", absl::StatusCode::kInvalidArgument, "'hidden_size' must be an integer"},
      {R"({"hidden_size": 3072.5})", absl::StatusCode::kInvalidArgument, "'hidden_size' must be an integer"},
      {R"({"num_key_value_heads": 5})", absl::StatusCode::kInvalidArgument,
       "num_attention_heads (24) must be a multiple of num_key_value_heads (5)"},
      {R"({"head_dim": 127})", absl::StatusCode::kInvalidArgument, "head_dim must be even"},
      {R"({"head_dim": null, "num_attention_heads": 25, "num_key_value_heads": 5})",
       absl::StatusCode::kInvalidArgument, "hidden_size (3072) is not divisible by num_attention_heads (25)"},
      {R"({"rms_norm_eps": -1})", absl::StatusCode::kInvalidArgument, "rms_norm_eps must be > 0"},
      {R"({"eos_token_id": 128256})", absl::StatusCode::kInvalidArgument,
       "eos_token_id = 128256 is outside the vocabulary [0, 128256)"},
      {R"({"tie_word_embeddings": "yes"})", absl::StatusCode::kInvalidArgument,
       "'tie_word_embeddings' must be true or false"},
      {R"({"torch_dtype": "int8"})", absl::StatusCode::kInvalidArgument, "torch_dtype must be float32"},
      {R"({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}})", absl::StatusCode::kUnimplemented,
       "rope_scaling type 'yarn' is not supported"},
      {R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
       absl::StatusCode::kInvalidArgument, "high_freq_factor (4) must exceed low_freq_factor (4)"},
      {R"({"rope_scaling": 3})", absl::StatusCode::kInvalidArgument, "'rope_scaling' must be an object"},
      {R"({"hidden_act": "gelu"})", absl::StatusCode::kUnimplemented, "hidden_act 'gelu' is not supported"},
      {R"({"model_type": "qwen3"})", absl::StatusCode::kUnimplemented, "model_type 'qwen3' is not supported"},
  };
  for (const BadCase& bad : cases) {
    auto c = ParseModelConfig(Patched(kLlama32_3B, bad.patch));
    ASSERT_FALSE(c.ok()) << bad.patch;
    EXPECT_EQ(c.status().code(), bad.code) << bad.patch << ": " << c.status();
    EXPECT_THAT(c.status().message(), HasSubstr(bad.message)) << bad.patch;
  }
  auto q = ParseModelConfig(Patched(kQwen25_05B, R"({"use_sliding_window": true})"));
  EXPECT_EQ(q.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ParseModelConfig("{not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseModelConfig("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadModelConfig("/nonexistent/config.json").status().code(), absl::StatusCode::kNotFound);
}

TEST(ModelConfigTest, WritesTransformersFormAndRoundTrips) {
  for (const char* text : {kLlama32_3B, kQwen25_05B}) {
    auto c = ParseModelConfig(text);
    ASSERT_TRUE(c.ok()) << c.status();
    auto written = ModelConfigToJson(*c);
    ASSERT_TRUE(written.ok()) << written.status();
    const nlohmann::json j = nlohmann::json::parse(*written);
    const nlohmann::json original = nlohmann::json::parse(text);
    // Every key of the original survives with its value (numbers compared as numbers).
    for (auto it = original.begin(); it != original.end(); ++it) {
      ASSERT_TRUE(j.contains(it.key())) << it.key();
      if (it.value().is_number()) {
        EXPECT_DOUBLE_EQ(j[it.key()].get<double>(), it.value().get<double>()) << it.key();
      } else if (it.key() != "rope_scaling") {
        EXPECT_EQ(j[it.key()], it.value()) << it.key();
      }
    }
    auto again = ParseModelConfig(*written);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->NumParameters(), c->NumParameters());
    EXPECT_EQ(again->extra_json, c->extra_json);
    EXPECT_EQ(*ModelConfigToJson(*again), *written);
  }
  auto llama = ParseModelConfig(kLlama32_3B);
  const nlohmann::json j = nlohmann::json::parse(*ModelConfigToJson(*llama));
  EXPECT_EQ(j["rope_scaling"]["rope_type"], "llama3");
  EXPECT_EQ(j["pretraining_tp"], 1);  // preserved extra key
}

TEST(ModelConfigTest, ToJsonValidates) {
  ModelConfig c;
  EXPECT_EQ(ModelConfigToJson(c).status().code(), absl::StatusCode::kInvalidArgument);
  auto q = ParseModelConfig(kQwen25_05B);
  q->attention_bias = true;
  EXPECT_THAT(ModelConfigToJson(*q).status().message(), HasSubstr("qwen2 has fixed biases"));
}

}  // namespace
}  // namespace nmoe::model
