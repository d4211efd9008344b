// Continues prompts with a trained checkpoint: evidence of what a small base model learned.
//
//   generate --model runs/base-small --prompt "The document" --prompt "El archivo"
//            [--tokens 40] [--temperature 0] [--top-k 40] [--seed 1] [--threads 2]
//
// Each prompt is encoded without special tokens and prefixed with BOS (training saw
// `[BOS] doc [EOS]`); every new token re-runs the full forward (no KV cache: fine for a
// small model and a few dozen tokens). Temperature 0 = greedy; otherwise softmax(logits /
// temperature) over the top-k logits, from a generator seeded with --seed. Stops at EOS.
// Prints "prompt => continuation" per prompt.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "fmt/format.h"
#include "model/checkpoint.h"
#include "tokenizer/tokenizer.h"

namespace {

int Fail(const absl::Status& s) {
  std::cerr << "generate: " << s << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Continue prompts with a checkpoint folder (config.json, model.safetensors, tokenizer.json)"};
  std::string model_dir;
  std::vector<std::string> prompts;
  int64_t tokens = 40, top_k = 40;
  double temperature = 0;
  uint64_t seed = 1;
  int threads = 2;
  app.add_option("--model", model_dir, "Checkpoint folder")->required();
  app.add_option("--prompt", prompts, "Prompt text (repeatable)")->required();
  app.add_option("--tokens", tokens, "New tokens per prompt")->capture_default_str();
  app.add_option("--temperature", temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-k", top_k, "Sample among the k most likely tokens")->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (tokens < 1 || top_k < 1 || temperature < 0) {
    return Fail(absl::InvalidArgumentError("--tokens and --top-k must be >= 1, --temperature >= 0"));
  }
  at::set_num_threads(threads);

  auto tok = nmoe::tokenizer::Tokenizer::FromFile(model_dir + "/tokenizer.json");
  if (!tok.ok()) return Fail(tok.status());
  auto loaded = nmoe::model::LoadPretrained(model_dir);
  if (!loaded.ok()) return Fail(loaded.status());
  nmoe::model::CausalLm& lm = *loaded->model;
  const std::optional<int32_t> bos = tok->bos_id(), eos = tok->eos_id();
  at::Generator gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard no_grad;

  for (const std::string& prompt : prompts) {
    std::vector<int64_t> ids;
    if (bos) ids.push_back(*bos);
    for (int32_t id : tok->Encode(prompt)) ids.push_back(id);
    const size_t prompt_len = ids.size();
    for (int64_t i = 0; i < tokens; ++i) {
      const at::Tensor ids_BT = at::tensor(ids, at::kLong).unsqueeze(0);
      auto out = lm.Forward(ids_BT);
      if (!out.ok()) return Fail(out.status());
      const at::Tensor logits_V = out->logits_BTV[0][-1].to(at::kFloat);
      int64_t next = 0;
      if (temperature == 0) {
        next = logits_V.argmax().item<int64_t>();
      } else {
        const auto top = logits_V.topk(std::min<int64_t>(top_k, logits_V.size(0)));
        const at::Tensor probs_K = at::softmax(std::get<0>(top) / temperature, 0);
        const int64_t pick = at::multinomial(probs_K, 1, false, gen).item<int64_t>();
        next = std::get<1>(top)[pick].item<int64_t>();
      }
      if (eos && next == *eos) break;
      ids.push_back(next);
    }
    std::vector<int32_t> generated(ids.begin() + static_cast<std::ptrdiff_t>(prompt_len), ids.end());
    auto text = tok->Decode(generated, /*skip_special_tokens=*/true);
    if (!text.ok()) return Fail(text.status());
    fmt::print("{} => {}\n", prompt, *text);
  }
  return 0;
}
