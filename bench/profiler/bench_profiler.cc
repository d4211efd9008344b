// bench_profiler: tokens/s of the profiler (AP + LAPE + layer similarity in one pass)
// against a bare forward of the same model and batches, and its peak memory; writes
// the checkpoint and batches for the Python peer (py_profiler.py).
//
//   bench_profiler --preset small --sentences 60 --threads 1 --out /tmp/bp
//   bench_profiler --config bench/model/llama-3.2-3b.config.json --shrink-vocab --sentences 2 --threads 2
//
// Sentences: the committed sample corpus (tests/data/corpus) of --languages, encoded
// with a byte-level BPE tokenizer trained here on the same text (vocabulary --vocab,
// capped by the model's). Times are the best of --repeats runs; bare and profiled runs
// alternate so machine load hits both alike. --unpad (default true) runs both on the
// real tokens only (model::ForwardOptions::unpad); --unpad false is the padded forward
// the Python peer runs. Prints one JSON line.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "CLI/CLI.hpp"
#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "profiler/profile_run.h"
#include "profiler/scoring.h"
#include "tokenizer/bpe_trainer.h"
#include "trainer/presets.h"

namespace {

using Clock = std::chrono::steady_clock;

int Fail(const absl::Status& s) {
  std::cerr << "bench_profiler: " << s << "\n";
  return 1;
}

long PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  in >> l;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Profiler throughput and overhead over a bare forward"};
  std::string preset = "small", config_path, out, corpus = "tests/data/corpus", weights = "fp32";
  std::vector<std::string> languages = {"en", "es", "zh", "el", "tr", "hu"};
  int sentences = 60, threads = 1, repeats = 3, vocab = 2048;
  int64_t batch_tokens = 2048;
  bool shrink_vocab = false, unpad = true;
  app.add_option("--preset", preset, "Model preset (trainer/presets.h)");
  app.add_option("--config", config_path, "A Hugging Face config.json instead of a preset");
  app.add_option("--corpus", corpus, "Corpus folder with <lang>/train.txt");
  app.add_option("--languages", languages, "Languages");
  app.add_option("--sentences", sentences, "Sentences per language");
  app.add_option("--threads", threads, "Intra-op threads");
  app.add_option("--repeats", repeats, "Runs of each kind (best counts)");
  app.add_option("--vocab", vocab, "Tokenizer vocabulary");
  app.add_option("--batch-tokens", batch_tokens, "Padded tokens per forward");
  app.add_option("--out", out, "Write checkpoint + batches.json here for py_profiler.py");
  app.add_option("--unpad", unpad,
                 "Token-wise work on real tokens only (model::ForwardOptions::unpad), bare and profiled alike");
  app.add_option("--weights", weights, "fp32 | bf16: the dtype the random model is built in")->capture_default_str();
  app.add_flag("--shrink-vocab", shrink_vocab,
               "Embedding rows = the tokenizer's vocabulary (profiling has no LM head: only memory changes)");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);

  auto trainer = nmoe::tokenizer::BpeTrainer::Create({.vocab_size = vocab});
  if (!trainer.ok()) return Fail(trainer.status());
  std::vector<nmoe::profiler::LanguageCorpus> corpora;
  for (const std::string& lang : languages) {
    const std::string path = corpus + "/" + lang + "/train.txt";
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) trainer->AddText(line);
    corpora.push_back({lang, {path}});
  }
  auto tok_json = trainer->Train();
  if (!tok_json.ok()) return Fail(tok_json.status());
  auto tok = nmoe::tokenizer::Tokenizer::FromJson(*tok_json);
  if (!tok.ok()) return Fail(tok.status());

  absl::StatusOr<nmoe::model::ModelConfig> config =
      config_path.empty() ? nmoe::trainer::PresetConfig(preset, tok->vocab_size(), tok->bos_id(), tok->eos_id())
                          : nmoe::model::LoadModelConfig(config_path);
  if (!config.ok()) return Fail(config.status());
  if (shrink_vocab) {
    config->vocab_size = tok->vocab_size();
    config->bos_token_id = tok->bos_id();
    config->eos_token_ids = {tok->eos_id().value_or(0)};
  }
  if (config->vocab_size < tok->vocab_size()) return Fail(absl::InvalidArgumentError("model vocabulary too small"));
  if (weights != "fp32" && weights != "bf16") return Fail(absl::InvalidArgumentError("--weights: fp32 or bf16"));
  nmoe::model::LoadModelOptions build;
  build.dtype = weights == "bf16" ? c10::kBFloat16 : c10::kFloat;
  auto model = nmoe::model::NewRandomModel(*config, 1, build);
  if (!model.ok()) return Fail(model.status());
  (*model)->eval();
  const long rss_model = PeakRssKb();

  nmoe::profiler::SentenceOptions so;
  so.per_language = static_cast<size_t>(sentences);
  so.seed = 1;
  so.allow_fewer = true;
  auto picked = nmoe::profiler::LoadSentences(corpora, *tok, so);
  if (!picked.ok()) return Fail(picked.status());
  const auto batches = nmoe::profiler::MakeBatches(*picked, batch_tokens, tok->eos_id().value_or(0));
  int64_t tokens = 0;
  int64_t padded_tokens = 0;
  for (const auto& b : batches) {
    tokens += b.real_tokens;
    padded_tokens += b.ids_BT.numel();
  }

  if (!out.empty()) {
    std::filesystem::create_directories(out);
    if (auto s = nmoe::model::SavePretrained(**model, out + "/model"); !s.ok()) return Fail(s);
    std::ofstream(out + "/model/tokenizer.json") << *tok_json;
    nlohmann::json j;
    j["languages"] = languages;
    for (const auto& b : batches) {
      nlohmann::json jb;
      jb["language"] = b.language;
      const int64_t B = b.ids_BT.size(0), T = b.ids_BT.size(1);
      const int64_t* ids = b.ids_BT.data_ptr<int64_t>();
      const int64_t* mask = b.mask_BT.data_ptr<int64_t>();
      for (int64_t r = 0; r < B; ++r) {
        jb["ids"].push_back(std::vector<int64_t>(ids + r * T, ids + (r + 1) * T));
        jb["mask"].push_back(std::vector<int64_t>(mask + r * T, mask + (r + 1) * T));
      }
      j["batches"].push_back(jb);
    }
    std::ofstream(out + "/batches.json") << j.dump();
  }

  nmoe::profiler::RunOptions run;
  run.collect.ap = run.collect.lape = run.collect.similarity = true;
  run.memory_budget_bytes = 8ull << 30;
  run.unpad = unpad;
  const double load_before = LoadAverage();
  double bare_best = 1e30, prof_best = 1e30, checksum = 0;
  nmoe::profiler::CollectedProfile last;
  for (int r = 0; r < repeats; ++r) {
    {
      torch::NoGradGuard no_grad;
      const auto t0 = Clock::now();
      for (const auto& b : batches) {
        nmoe::model::ForwardOptions fwd;
        fwd.mask_BT = b.mask_BT;
        fwd.compute_logits = false;
        fwd.unpad = unpad;
        auto o = (*model)->Forward(b.ids_BT, fwd);
        if (!o.ok()) return Fail(o.status());
      }
      bare_best = std::min(bare_best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    const auto t0 = Clock::now();
    auto collected = nmoe::profiler::CollectProfile(**model, languages, batches, run);
    if (!collected.ok()) return Fail(collected.status());
    prof_best = std::min(prof_best, std::chrono::duration<double>(Clock::now() - t0).count());
    last = std::move(*collected);
  }
  {
    // Checksum of all mean responses, comparable with py_profiler.py's.
    auto rows = last.responses->ReadChunk(0);
    if (!rows.ok()) return Fail(rows.status());
    for (float v : rows->values) checksum += v;
    last.responses.reset();
  }
  nlohmann::json result = {{"impl", "c++"},
                           {"model", config_path.empty() ? preset : config_path},
                           {"threads", threads},
                           {"sentences", picked->size()},
                           {"batches", batches.size()},
                           {"tokens", tokens},
                           {"padded_tokens", padded_tokens},
                           {"unpad", unpad},
                           {"weights", weights},
                           {"neurons", last.space.size()},
                           {"bare_seconds", bare_best},
                           {"profile_seconds", prof_best},
                           {"bare_tokens_per_s", tokens / bare_best},
                           {"profile_tokens_per_s", tokens / prof_best},
                           {"overhead", prof_best / bare_best - 1},
                           {"checksum", checksum},
                           {"rss_model_mb", rss_model / 1024.0},
                           {"peak_rss_mb", PeakRssKb() / 1024.0},
                           {"load_average_before", load_before},
                           {"load_average", LoadAverage()}};
  std::cout << result.dump() << std::endl;
  return 0;
}
