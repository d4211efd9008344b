// The train task kind (MoE training, trainer/train_task.h) in-process on the committed
// sample corpus: a tiny base model is pretrained here, a plan is stored in a local
// results database, and the two stages run. Checked: what each stage may change (and
// what it must not), the auxiliary losses in the metrics, resume after a stop equals
// an uninterrupted run, finished stages are reused, precise errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <prometheus/registry.h>

#include <map>

#include "comm/make_communicator.h"
#include "comm/rendezvous_store.h"
#include "model/checkpoint.h"
#include "model/moe_mlp.h"
#include "nlohmann/json.hpp"
#include "storage/store_result_sink.h"
#include "tests/support/temp_dir.h"
#include "trainer/pretrain_task.h"
#include "trainer/train_task.h"

namespace nmoe::trainer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Corpus(const std::string& lang, const std::string& split) {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/tests/data/corpus/" + lang + "/" + split + ".txt";
}

void AddCorpus(v1::TrainStage* s, const std::string& lang) {
  v1::Corpus* c = s->add_corpora();
  c->set_language(lang);
  c->add_paths(Corpus(lang, "train"));
}

struct Harness {
  TaskContext ctx;
  std::vector<std::string> lines;
  std::atomic<bool> stop{false};
  Harness(const v1::JobSpec& spec, const fs::path& work_dir, ResultSink* results) {
    ctx.task.set_job_id("job-1");
    *ctx.task.mutable_spec() = spec;
    ctx.work_dir = work_dir;
    ctx.report_progress = [](const v1::Progress&) {};
    ctx.log = [this](v1::LogLevel, const std::string& text) { lines.push_back(text); };
    ctx.stop = &stop;
    ctx.results = results;
  }
  bool Logged(const std::string& needle) const {
    for (const auto& l : lines) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

std::vector<double> Losses(const fs::path& metrics, const char* key = "loss") {
  std::vector<double> out;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line)[key].get<double>());
  return out;
}

class TrainTaskTest : public ::testing::Test {
 protected:
  // One tiny base model for the whole suite (pretraining takes a few seconds).
  static void SetUpTestSuite() {
    dir_ = new nmoe::testing::TempDir();
    v1::JobSpec spec;
    spec.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_FP32);
    v1::PretrainSpec* p = spec.mutable_pretrain();
    p->set_preset("tiny");
    p->set_tokenizer_vocab_size(512);
    p->set_output_path("base");
    p->set_seed(5);
    v1::TrainStage* s = p->mutable_stage();
    for (const char* lang : {"en", "el"}) AddCorpus(s, lang);
    s->set_sequence_length(32);
    s->set_batch_sequences(4);
    s->set_steps(3);
    s->set_learning_rate(3e-3);
    Harness h(spec, dir_->path(), nullptr);
    base_status_ = NewPretrainTask()->Run(h.ctx);
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    ASSERT_TRUE(base_status_.ok()) << base_status_;
    auto sink = storage::StoreResultSink::OpenLocal((work_.path() / "results.db").string());
    ASSERT_TRUE(sink.ok()) << sink.status();
    results_ = std::move(*sink);
    v1::Plan plan;
    plan.set_id("plan-a");
    for (int n : {1, 3, 1, 2}) plan.add_experts_per_layer(n);
    ASSERT_TRUE(results_->PutPlan(plan).ok());
  }

  static v1::JobSpec Spec(const std::string& output) {
    v1::JobSpec spec;
    spec.mutable_resources()->set_dtype(v1::COMPUTE_DTYPE_FP32);
    v1::TrainSpec* t = spec.mutable_train();
    t->mutable_base_model()->set_path((dir_->path() / "base").string());
    t->set_plan_id("plan-a");
    t->set_output_path(output);
    t->set_seed(7);
    t->set_checkpoint_interval_steps(2);
    v1::TrainStage* s1 = t->add_stages();
    s1->set_name("experts");
    AddCorpus(s1, "el");
    s1->set_trainable(v1::TRAINABLE_EXPERTS_AND_ROUTERS);
    s1->set_sequence_length(32);
    s1->set_batch_sequences(4);
    s1->set_steps(4);
    s1->set_learning_rate(1e-2);
    v1::TrainStage* s2 = t->add_stages();
    s2->set_name("routers");
    AddCorpus(s2, "el");
    AddCorpus(s2, "en");
    s2->add_old_languages("en");
    s2->set_trainable(v1::TRAINABLE_ROUTERS);
    s2->set_sequence_length(32);
    s2->set_batch_sequences(4);
    s2->set_steps(3);
    s2->set_learning_rate(1e-2);
    return spec;
  }

  static inline nmoe::testing::TempDir* dir_ = nullptr;
  static inline absl::Status base_status_;
  nmoe::testing::TempDir work_;
  std::unique_ptr<storage::StoreResultSink> results_;
};

TEST_F(TrainTaskTest, StagesTrainOnlyWhatTheyMay) {
  Harness h(Spec("moe"), work_.path(), results_.get());
  // Metrics into a real registry, sampled while stage 1 runs (after its step 3).
  prometheus::Registry registry;
  h.ctx.metrics = &registry;
  std::map<std::string, double> sampled;
  h.ctx.log = [&](v1::LogLevel, const std::string& text) {
    h.lines.push_back(text);
    if (text.find("experts step 3/4") == std::string::npos) return;
    for (const prometheus::MetricFamily& f : registry.Collect()) {
      for (const prometheus::ClientMetric& m : f.metric) {
        std::string key = f.name;
        for (const auto& l : m.label) {
          if (l.name != "job_id" && l.name != "stage") key += "," + l.name + "=" + l.value;
        }
        sampled[key] = f.type == prometheus::MetricType::Gauge ? m.gauge.value : 0;
      }
    }
  };
  const absl::Status s = NewTrainTask()->Run(h.ctx);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(sampled.at("nmoe_train_step"), 3);
  EXPECT_GT(sampled.at("nmoe_train_loss,component=lm"), 0);
  EXPECT_GT(sampled.at("nmoe_train_loss,component=balance"), 0.5);
  EXPECT_GT(sampled.at("nmoe_train_learning_rate"), 0);
  for (const char* layer : {"1", "3"}) {
    double total = 0;
    for (const char* e : {"0", "1", "2"}) {
      auto it = sampled.find(std::string("nmoe_moe_expert_token_share,expert=") + e + ",layer=" + layer);
      if (it != sampled.end()) total += it->second;
    }
    EXPECT_NEAR(total, 1.0, 1e-9) << "layer " << layer;
  }
  EXPECT_EQ(sampled.at("nmoe_moe_expert_token_share,expert=0,layer=3"), 0.5);  // n_l = 2 <= k
  EXPECT_EQ(sampled.count("nmoe_moe_expert_token_share,expert=2,layer=3"), 0u);
  for (const prometheus::MetricFamily& f : registry.Collect()) {
    EXPECT_TRUE(f.metric.empty()) << f.name << ": the task ended, its series must be gone";
  }
  const fs::path out = work_.path() / "moe";
  auto base = model::LoadPretrained((dir_->path() / "base").string());
  auto stage1 = model::LoadPretrained((out / "stages/1-experts/model").string());
  auto final = model::LoadPretrained(out.string());
  ASSERT_TRUE(base.ok() && stage1.ok()) << base.status() << stage1.status();
  ASSERT_TRUE(final.ok()) << final.status();
  EXPECT_EQ(final->model->config().experts_per_layer, (std::vector<int64_t>{1, 3, 1, 2}));
  EXPECT_TRUE(fs::exists(out / "tokenizer.json"));

  auto b = base->model->named_parameters();
  auto one = stage1->model->named_parameters();
  auto two = final->model->named_parameters();
  int changed_experts = 0;
  for (const auto& item : two) {
    const std::string& name = item.key();
    const bool router = name.find(".router.") != std::string::npos;
    const bool expert = name.find(".experts.") != std::string::npos;
    const bool expert0 = name.find(".experts.0.") != std::string::npos;
    if (!router && !expert) {
      // Outside the MoE layers' experts and routers nothing moves, in either stage.
      EXPECT_TRUE(at::equal(item.value(), b[name])) << name;
    } else if (expert0) {
      // Expert 0 is the original MLP, frozen.
      std::string dense = name;
      dense.replace(dense.find("experts.0."), 10, "");
      EXPECT_TRUE(at::equal(item.value(), b[dense])) << name;
    } else if (expert) {
      // Stage 2 trains routers only: experts are stage 1's.
      EXPECT_TRUE(at::equal(item.value(), one[name])) << name;
      std::string dense = name;
      dense.replace(dense.find("experts."), 10, "");  // "experts.N." -> ""
      changed_experts += at::equal(item.value(), b[dense]) ? 0 : 1;
    } else {
      // Routers move in both stages.
      EXPECT_FALSE(at::equal(item.value(), one[name])) << name;
    }
  }
  EXPECT_EQ(changed_experts, 3 * 3);  // experts 1, 2 of layer 1 and 1 of layer 3, 3 tensors each

  const auto balance = Losses(out / "stages/1-experts/metrics.jsonl", "balance_loss");
  ASSERT_EQ(balance.size(), 4u);
  for (double v : balance) EXPECT_NEAR(v, 1.0, 0.2);  // ~1 for near-uniform routers; 1 exactly when n_l <= k
  const auto lpr = Losses(out / "stages/2-routers/metrics.jsonl", "lpr_loss");
  ASSERT_EQ(lpr.size(), 3u);
  for (double v : lpr) EXPECT_GT(v, 0.0);
  EXPECT_LT(lpr.back(), lpr.front());  // measured 1.51 -> 1.16: old tokens move to expert 0
  EXPECT_TRUE(h.Logged("balance 0.01"));
  EXPECT_TRUE(h.Logged("LPR 0.1 (old: en)"));

  // Rerun: both stages are loaded, nothing trains, the same model comes out.
  Harness again(Spec("moe"), work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(again.ctx).ok());
  EXPECT_TRUE(again.Logged("stage experts finished earlier"));
  EXPECT_TRUE(again.Logged("stage routers finished earlier"));
  auto reloaded = model::LoadPretrained(out.string());
  ASSERT_TRUE(reloaded.ok());
  for (const auto& item : reloaded->model->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), two[item.key()])) << item.key();
  }
}

// LayerMoE's sequence classifiers (TrainSpec.classifier_layers): built in the named MoE
// layers, untouched in stage 1 (no old language named: every token is new and the loss
// is off), trained with the routers in stage 2, recorded in the saved config; a layer
// without MoE gets a precise error.
TEST_F(TrainTaskTest, SequenceClassifiersTrainWithTheRouters) {
  v1::JobSpec spec = Spec("cls");
  spec.mutable_train()->add_classifier_layers(1);
  spec.mutable_train()->add_classifier_layers(3);
  Harness h(spec, work_.path(), results_.get());
  const absl::Status s = NewTrainTask()->Run(h.ctx);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(h.Logged("sequence classifiers in layers 1 3"));
  EXPECT_TRUE(h.Logged("classifier 1;"));  // stage 2's default coefficient
  const fs::path out = work_.path() / "cls";
  auto stage1 = model::LoadPretrained((out / "stages/1-experts/model").string());
  auto final = model::LoadPretrained(out.string());
  ASSERT_TRUE(stage1.ok() && final.ok()) << stage1.status() << final.status();
  EXPECT_EQ(final->model->config().classifier_layers, (std::vector<int64_t>{1, 3}));
  auto one = stage1->model->named_parameters();
  auto two = final->model->named_parameters();
  for (const char* layer : {"1", "3"}) {
    const std::string name = std::string("model.layers.") + layer + ".mlp.classifier.weight";
    ASSERT_TRUE(two.contains(name)) << name;
    EXPECT_FALSE(at::equal(one[name], two[name])) << name << " must move in stage 2";
  }
  const auto loss = Losses(out / "stages/2-routers/metrics.jsonl", "classifier_loss");
  ASSERT_EQ(loss.size(), 3u);
  for (double v : loss) EXPECT_GT(v, 0.0);
  const auto accuracy = Losses(out / "stages/2-routers/metrics.jsonl", "classifier_accuracy");
  for (double v : accuracy) EXPECT_TRUE(v >= 0.0 && v <= 1.0) << v;

  v1::JobSpec bad = Spec("cls-bad");
  bad.mutable_train()->add_classifier_layers(2);  // n_l = 1 in plan-a
  Harness hb(bad, work_.path(), results_.get());
  const absl::Status sb = NewTrainTask()->Run(hb.ctx);
  EXPECT_TRUE(absl::IsInvalidArgument(sb)) << sb;
  EXPECT_THAT(std::string(sb.message()), ::testing::HasSubstr("layer 2 has no MoE"));
}

// The stage identity covers the base weights, not only its config.json: a base whose
// weights file changed in place (here: only its modification time) neither loads the
// stage result made from the old weights nor resumes its checkpoints; the old stage
// folder is moved aside (kept) and the stage trains afresh.
TEST_F(TrainTaskTest, ChangedBaseWeightsTrainAgain) {
  v1::JobSpec spec = Spec("fp");
  spec.mutable_train()->mutable_stages()->RemoveLast();
  spec.mutable_train()->mutable_stages(0)->set_steps(1);
  Harness first(spec, work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(first.ctx).ok());
  Harness same(spec, work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(same.ctx).ok());
  EXPECT_TRUE(same.Logged("stage experts finished earlier"));

  const fs::path weights = dir_->path() / "base" / "model.safetensors";
  const auto before = fs::last_write_time(weights);
  fs::last_write_time(weights, before + std::chrono::seconds(5));
  Harness touched(spec, work_.path(), results_.get());
  const absl::Status s = NewTrainTask()->Run(touched.ctx);
  fs::last_write_time(weights, before);  // the suite's other tests share the base
  EXPECT_FALSE(touched.Logged("finished earlier"));
  EXPECT_TRUE(touched.Logged("belongs to another spec"));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(touched.Logged("moved it to"));
  int aside = 0;
  for (const auto& entry : fs::recursive_directory_iterator(work_.path())) {
    if (entry.path().filename().string().find(".replaced-") != std::string::npos) {
      ++aside;
      EXPECT_TRUE(fs::exists(entry.path() / "done.json")) << entry.path();  // the old result is kept
    }
  }
  EXPECT_EQ(aside, 1);
}

TEST_F(TrainTaskTest, StopAndResumeFollowsTheUninterruptedRun) {
  Harness straight(Spec("straight"), work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(straight.ctx).ok());

  Harness interrupted(Spec("resumed"), work_.path(), results_.get());
  // Stop once step 2 of stage 1 is logged: the loop saves a checkpoint after that step.
  interrupted.ctx.log = [&interrupted](v1::LogLevel, const std::string& text) {
    if (text.find("experts step 2/4") != std::string::npos) interrupted.stop = true;
  };
  EXPECT_TRUE(absl::IsCancelled(NewTrainTask()->Run(interrupted.ctx)));
  Harness resumed(Spec("resumed"), work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(resumed.ctx).ok());
  EXPECT_TRUE(resumed.Logged("resuming at step 2"));
  for (const char* stage : {"stages/1-experts/metrics.jsonl", "stages/2-routers/metrics.jsonl"}) {
    const auto a = Losses(work_.path() / "straight" / stage);
    const auto b = Losses(work_.path() / "resumed" / stage);
    ASSERT_EQ(a.size(), b.size()) << stage;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << stage << " step " << i + 1;
  }
}

TEST_F(TrainTaskTest, BadPlansGetPreciseErrors) {
  v1::JobSpec missing = Spec("x");
  missing.mutable_train()->set_plan_id("plan-nope");
  Harness h1(missing, work_.path(), results_.get());
  const absl::Status s1 = NewTrainTask()->Run(h1.ctx);
  EXPECT_TRUE(absl::IsNotFound(s1)) << s1;
  EXPECT_THAT(std::string(s1.message()), HasSubstr("plan-nope"));

  v1::Plan short_plan;
  short_plan.set_id("plan-short");
  short_plan.add_experts_per_layer(2);
  ASSERT_TRUE(results_->PutPlan(short_plan).ok());
  v1::JobSpec mismatch = Spec("y");
  mismatch.mutable_train()->set_plan_id("plan-short");
  Harness h2(mismatch, work_.path(), results_.get());
  const absl::Status s2 = NewTrainTask()->Run(h2.ctx);
  EXPECT_TRUE(absl::IsInvalidArgument(s2)) << s2;
  EXPECT_THAT(std::string(s2.message()), HasSubstr("the plan has 1 layers, the base model 4"));

  v1::Plan dense_plan;
  dense_plan.set_id("plan-dense");
  for (int i = 0; i < 4; ++i) dense_plan.add_experts_per_layer(1);
  ASSERT_TRUE(results_->PutPlan(dense_plan).ok());
  v1::JobSpec nothing = Spec("z");
  nothing.mutable_train()->set_plan_id("plan-dense");
  Harness h3(nothing, work_.path(), results_.get());
  const absl::Status s3 = NewTrainTask()->Run(h3.ctx);
  EXPECT_TRUE(absl::IsInvalidArgument(s3)) << s3;
  EXPECT_THAT(std::string(s3.message()), HasSubstr("spec.train.stages[0]: nothing to train"));
}

// Issue 6: the same global batch gives the same update on 1 or 2 ranks. Micro-batches
// of one sequence on both sides (1 rank: 4 x 1; 2 ranks: 2 x 1 each), so the
// per-micro-batch balance loss sees the same sequences. Two ranks are threads here,
// with real Gloo collectives over loopback.
TEST_F(TrainTaskTest, TwoRanksFollowOneRank) {
  v1::JobSpec one = Spec("one");
  for (auto& stage : *one.mutable_train()->mutable_stages()) stage.set_grad_accumulation(4);
  Harness single(one, work_.path(), results_.get());
  ASSERT_TRUE(NewTrainTask()->Run(single.ctx).ok());

  v1::JobSpec two = Spec("two");
  for (auto& stage : *two.mutable_train()->mutable_stages()) stage.set_grad_accumulation(2);
  comm::InMemoryRendezvousStore store;
  absl::Status status[2];
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      comm::CommOptions options;
      options.backend = comm::Backend::kGloo;
      options.rank = r;
      options.world_size = 2;
      options.store = &store;
      options.hostname = "127.0.0.1";
      options.timeout = absl::Seconds(120);
      auto communicator = comm::MakeCommunicator(options);
      if (!communicator.ok()) {
        status[r] = communicator.status();
        return;
      }
      Harness h(two, work_.path(), results_.get());
      h.ctx.task.set_rank(static_cast<uint32_t>(r));
      h.ctx.task.set_world_size(2);
      h.ctx.comm = communicator->get();
      status[r] = NewTrainTask()->Run(h.ctx);
    });
  }
  for (auto& t : ranks) t.join();
  ASSERT_TRUE(status[0].ok()) << status[0];
  ASSERT_TRUE(status[1].ok()) << status[1];
  for (const char* stage : {"stages/1-experts/metrics.jsonl", "stages/2-routers/metrics.jsonl"}) {
    const auto a = Losses(work_.path() / "one" / stage);
    const auto b = Losses(work_.path() / "two" / stage);
    const auto b1 = Losses(work_.path() / "two" / "rank-1" / stage);
    ASSERT_EQ(a.size(), b.size()) << stage;
    ASSERT_EQ(b.size(), b1.size()) << stage;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_NEAR(a[i], b[i], 1e-5) << stage << " step " << i + 1;
      EXPECT_EQ(b[i], b1[i]) << stage << " step " << i + 1;  // both ranks report the global loss
    }
  }
  auto m1 = model::LoadPretrained((work_.path() / "one").string());
  auto m2 = model::LoadPretrained((work_.path() / "two").string());
  ASSERT_TRUE(m1.ok() && m2.ok());
  auto p2 = m2->model->named_parameters();
  for (const auto& item : m1->model->named_parameters()) {
    const double scale = std::max(1e-3, item.value().abs().max().item<double>());
    EXPECT_LT((item.value() - p2[item.key()]).abs().max().item<double>() / scale, 1e-4) << item.key();
  }
}

}  // namespace
}  // namespace nmoe::trainer
