// The pretrain and evaluate task kinds in-process, on the committed sample corpus
// (tests/data/corpus): outputs in the Hugging Face layout, reuse of tokenizer and
// shards, a finished run rerun, errors for bad specs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "storage/store_result_sink.h"
#include "tests/support/temp_dir.h"
#include "trainer/evaluate_task.h"
#include "trainer/pretrain_task.h"

namespace nmoe::trainer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Corpus(const std::string& lang, const std::string& split) {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/tests/data/corpus/" + lang + "/" + split + ".txt";
}

v1::JobSpec TinySpec(const std::string& output) {
  v1::JobSpec spec;
  spec.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_FP32);
  v1::PretrainSpec* p = spec.mutable_pretrain();
  p->set_preset("tiny");
  p->set_tokenizer_vocab_size(512);
  p->set_output_path(output);
  p->set_seed(3);
  p->set_checkpoint_interval_steps(2);
  v1::TrainStage* s = p->mutable_stage();
  for (const char* lang : {"en", "de", "zh"}) {
    v1::Corpus* c = s->add_corpora();
    c->set_language(lang);
    c->add_paths(Corpus(lang, "train"));
    v1::Corpus* h = p->add_heldout();
    h->set_language(lang);
    h->add_paths(Corpus(lang, "validation"));
  }
  s->set_sequence_length(64);
  s->set_batch_sequences(4);
  s->set_steps(4);
  s->set_learning_rate(3e-3);
  s->set_warmup_steps(1);
  return spec;
}

struct Harness {
  TaskContext ctx;
  std::vector<std::string> lines;
  std::atomic<bool> stop{false};
  explicit Harness(const v1::JobSpec& spec, const std::string& work_dir) {
    ctx.task.set_job_id("job-1");
    *ctx.task.mutable_spec() = spec;
    ctx.work_dir = work_dir;
    ctx.report_progress = [](const v1::Progress&) {};
    ctx.log = [this](v1::LogLevel, const std::string& text) { lines.push_back(text); };
    ctx.stop = &stop;
  }
  bool Logged(const std::string& needle) const {
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(PretrainTaskTest, WritesTheModelAndEvaluates) {
  nmoe::testing::TempDir dir;
  const v1::JobSpec spec = TinySpec("run");  // relative: resolves under the work dir
  Harness first(spec, dir.path().string());
  const absl::Status s = NewPretrainTask()->Run(first.ctx);
  ASSERT_TRUE(s.ok()) << s;
  const fs::path out = dir.path() / "run";
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "eval.json", "metrics.jsonl",
                        "data/manifest.json", "checkpoints/step-4/trainer_state.json",
                        "checkpoints/step-2/trainer_state.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  auto loaded = model::LoadPretrained(out.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->model->config().vocab_size, 512);
  EXPECT_TRUE(loaded->model->config().tie_word_embeddings);
  const auto eval = ReadJson(out / "eval.json");
  for (const char* lang : {"en", "de", "zh"}) {
    ASSERT_TRUE(eval.contains(lang)) << eval.dump();
    const double ppl = eval[lang]["perplexity"].get<double>();
    EXPECT_TRUE(std::isfinite(ppl));
    EXPECT_GT(eval[lang]["tokens"].get<uint64_t>(), 100u);
  }
  EXPECT_TRUE(first.Logged("tokenizer: trained"));
  EXPECT_TRUE(first.Logged("perplexity"));

  // Rerun: tokenizer and shards reused, training already done, outputs rewritten.
  Harness again(spec, dir.path().string());
  ASSERT_TRUE(NewPretrainTask()->Run(again.ctx).ok());
  EXPECT_TRUE(again.Logged("tokenizer: reusing"));
  EXPECT_TRUE(again.Logged("data: reusing"));
  EXPECT_TRUE(again.Logged("resumed from"));
  EXPECT_EQ(ReadJson(out / "eval.json"), eval);

  // The evaluate kind on the result: same numbers at the same sequence length.
  v1::JobSpec evaluate;
  evaluate.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_FP32);
  evaluate.mutable_evaluate()->mutable_model()->set_path("run");
  for (const auto& h : spec.pretrain().heldout()) *evaluate.mutable_evaluate()->add_heldout() = h;
  evaluate.mutable_evaluate()->set_sequence_length(64);
  Harness eval_run(evaluate, dir.path().string());
  auto sink = storage::StoreResultSink::OpenLocal(dir.file("results.db"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  eval_run.ctx.results = sink->get();
  const absl::Status es = NewEvaluateTask()->Run(eval_run.ctx);
  ASSERT_TRUE(es.ok()) << es;
  const auto evaluated = ReadJson(out / "eval-job-1.json");
  for (const char* lang : {"en", "de", "zh"}) {
    EXPECT_EQ(evaluated[lang]["tokens"], eval[lang]["tokens"]);
    // Another batch size (8 windows a pass, not 4): float rounding only.
    EXPECT_NEAR(evaluated[lang]["nll"].get<double>(), eval[lang]["nll"].get<double>(), 1e-6);
  }
  // The stored evaluation of a dense model: the same numbers, no routing; the
  // baseline is the held-out text's own unigram model (so below the training-text one).
  auto stored = (*sink)->GetEvaluation("job-1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  const v1::Evaluation& e = **stored;
  EXPECT_EQ(e.job_id(), "job-1");
  EXPECT_EQ(e.model_path(), "run");
  EXPECT_EQ(e.experts_per_layer_size(), 0);
  EXPECT_EQ(e.routing_size(), 0);
  EXPECT_EQ(e.parameters(), static_cast<uint64_t>(loaded->model->config().NumParameters()));
  ASSERT_EQ(e.languages_size(), 3);
  for (const v1::LanguageEvaluation& l : e.languages()) {
    EXPECT_EQ(l.tokens(), evaluated[l.language()]["tokens"].get<uint64_t>()) << l.language();
    EXPECT_DOUBLE_EQ(l.nll(), evaluated[l.language()]["nll"].get<double>()) << l.language();
    EXPECT_GT(l.unigram_perplexity(), 1.0) << l.language();
    EXPECT_LT(l.unigram_perplexity(), eval[l.language()]["unigram_perplexity"].get<double>()) << l.language();
  }
  EXPECT_GT(e.create_time().seconds(), 0);
}

TEST(PretrainTaskTest, ChangedSpecDoesNotResumeOldCheckpoints) {
  nmoe::testing::TempDir dir;
  v1::JobSpec spec = TinySpec(dir.file("run"));
  spec.mutable_pretrain()->clear_heldout();
  spec.mutable_pretrain()->mutable_stage()->set_steps(2);
  spec.mutable_pretrain()->mutable_stage()->set_warmup_steps(0);
  Harness first(spec, dir.path().string());
  ASSERT_TRUE(NewPretrainTask()->Run(first.ctx).ok());
  spec.mutable_pretrain()->mutable_stage()->set_learning_rate(1e-3);
  Harness second(spec, dir.path().string());
  const absl::Status s = NewPretrainTask()->Run(second.ctx);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("another run"));
}

TEST(PretrainTaskTest, BadInputsGetPreciseErrors) {
  nmoe::testing::TempDir dir;
  {
    v1::JobSpec spec = TinySpec(dir.file("a"));
    spec.mutable_pretrain()->set_preset("medium-rare");
    Harness h(spec, dir.path().string());
    const absl::Status s = NewPretrainTask()->Run(h.ctx);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("unknown model preset 'medium-rare'"));
  }
  {
    v1::JobSpec spec = TinySpec(dir.file("b"));
    spec.mutable_pretrain()->mutable_stage()->mutable_corpora(0)->set_paths(0, dir.file("missing.txt"));
    Harness h(spec, dir.path().string());
    const absl::Status s = NewPretrainTask()->Run(h.ctx);
    EXPECT_TRUE(absl::IsNotFound(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("missing.txt"));
  }
  {
    v1::JobSpec spec = TinySpec(dir.file("c"));
    spec.mutable_pretrain()->mutable_stage()->set_batch_sequences(3);
    spec.mutable_pretrain()->mutable_stage()->set_grad_accumulation(2);
    Harness h(spec, dir.path().string());
    const absl::Status s = NewPretrainTask()->Run(h.ctx);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("grad_accumulation"));
  }
}

}  // namespace
}  // namespace nmoe::trainer
