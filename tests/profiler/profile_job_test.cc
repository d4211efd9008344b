// The profile job kind end to end: a tiny random model with a BPE tokenizer trained on
// the committed sample corpus, profiled by nmoe-run (child process) with AP, LAPE and
// layer similarity; results.db holds the stats and the summary (read back through
// StoreResultSink and ResultsStore, no nmoectl); the exports and figures exist and
// agree with the stored results.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <ATen/ops/randn_like.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "model/checkpoint.h"
#include "model/moe_losses.h"
#include "model/moe_mlp.h"
#include "nlohmann/json.hpp"
#include "storage/results_store.h"
#include "storage/rocksdb_store.h"
#include "storage/store_result_sink.h"
#include "tests/profiler/tiny_model.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "trainer/moe_model.h"

namespace nmoe {
namespace {

namespace fs = std::filesystem;

constexpr int kSentences = 40;
constexpr int kTopN = 50;
const std::vector<std::string> kLangs = {"en", "el", "zh"};

std::string Corpus(const std::string& lang) { return testing::SampleCorpus(lang); }

// tokenizer.json (vocab 400) + a random tiny-preset model in `dir`; with
// `experts_per_layer` an MoE model built from it whose experts then differ.
void MakeModel(const fs::path& dir, const std::vector<int64_t>& experts_per_layer = {}) {
  auto m = testing::MakeTinyModel(kLangs, 400, 300, 3);
  ASSERT_TRUE(m.ok()) << m.status();
  if (experts_per_layer.empty()) {
    ASSERT_TRUE(testing::SaveTinyModel(m->tokenizer_json, *m->lm, dir).ok());
    return;
  }
  auto moe = trainer::BuildMoeModel(*m->lm, experts_per_layer, 2, 7);
  ASSERT_TRUE(moe.ok()) << moe.status();
  {
    torch::NoGradGuard no_grad;
    at::manual_seed(2);
    for (model::MoeMlp* layer : model::MoeLayers(**moe)) {
      for (int64_t e = 1; e < layer->num_experts(); ++e) {
        for (auto& p : layer->expert(e).parameters()) p.add_(at::randn_like(p) * 0.05);
      }
    }
  }
  ASSERT_TRUE(testing::SaveTinyModel(m->tokenizer_json, **moe, dir).ok());
}

TEST(ProfileJobTest, NmoeRunStoresStatsSummaryAndFiles) {
  testing::TempDir dir;
  MakeModel(dir.path() / "model");
  std::string corpora;
  for (const std::string& lang : kLangs) absl::StrAppend(&corpora, "    - {language: ", lang, ", paths: [", Corpus(lang), "]}\n");
  std::ofstream(dir.file("job.yaml")) << absl::StrCat(
      "name: profile-test\nresources: {dtype: COMPUTE_DTYPE_FP32, threads_per_worker: 1}\nprofile:\n  model: {path: model}\n",
      "  corpora:\n", corpora, "  criteria: [NEURON_CRITERION_AP, NEURON_CRITERION_LAPE]\n",
      "  sentences_per_language: ", kSentences, "\n  top_n: ", kTopN,
      "\n  layer_similarity: true\n  output_path: out\n  memory_budget_mb: 1\n  seed: 4\n");
  auto child = testing::ChildProcess::Start(
      {testing::BuildPath("worker/nmoe-run"), dir.file("job.yaml"), "--work-dir", dir.path().string(), "--threads", "1"},
      dir.file("run.log"));
  ASSERT_TRUE(child.ok());
  auto code = child->Wait(absl::Seconds(300));
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("run.log"));

  // Files.
  const fs::path out = dir.path() / "out";
  for (const char* f : {"summary.json", "selected_ap.csv", "selected_lape.csv", "counts_ap.csv", "counts_lape.csv",
                        "similarity.csv", "counts_by_language_ap.svg", "counts_by_component_ap.svg", "heatmap_ap.svg",
                        "counts_by_language_lape.svg", "similarity.svg"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  EXPECT_FALSE(fs::exists(out / "spill")) << "spill files are removed";
  const auto summary_json = nlohmann::json::parse(::nmoe::testing::ReadWholeFile(out / "summary.json"));
  EXPECT_EQ(summary_json["languages"].size(), kLangs.size());
  EXPECT_EQ(summary_json["similarity"]["layers"].size(), 4u);

  // Stored results (the run is over: open its RocksDB here).
  {
    auto sink = storage::StoreResultSink::OpenLocal((dir.path() / "results.db").string());
    ASSERT_TRUE(sink.ok()) << sink.status();
    auto summary = (*sink)->GetProfileSummary("local");
    ASSERT_TRUE(summary.ok() && summary->has_value());
    ASSERT_EQ((*summary)->languages_size(), 2 * static_cast<int>(kLangs.size()));  // AP and LAPE
    for (const auto& lp : (*summary)->languages()) {
      uint32_t total = 0;
      for (const auto& layer : lp.layers()) total += layer.total();
      if (lp.criterion() == v1::NEURON_CRITERION_AP) {
        EXPECT_EQ(total, static_cast<uint32_t>(kTopN)) << lp.language();
      }
    }
    ASSERT_EQ((*summary)->similarities_size(), 4);
    const auto& s0 = (*summary)->similarities(0);
    ASSERT_EQ(s0.similarity_size(), 9);
    EXPECT_NEAR(s0.similarity(1), s0.similarity(3), 1e-12);  // symmetric
    EXPECT_GT(s0.similarity(0), 0.0);
  }
  auto kv = storage::RocksDbStore::Open((dir.path() / "results.db").string());
  ASSERT_TRUE(kv.ok()) << kv.status();
  storage::ResultsStore results(kv->get());
  v1::QueryNeuronsRequest q;
  q.set_job_id("local");
  q.set_language("el");
  q.set_criterion(v1::NEURON_CRITERION_AP);
  q.set_selected_only(true);
  auto page = results.QueryNeurons(q, 10000);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), static_cast<size_t>(kTopN));
  EXPECT_EQ(page->items[0].rank(), 1u);
  for (size_t i = 1; i < page->items.size(); ++i) EXPECT_GE(page->items[i - 1].score(), page->items[i].score());
  // The CSV lists the same first neuron.
  const std::string csv = ::nmoe::testing::ReadWholeFile(out / "selected_ap.csv");
  const auto& top = page->items[0];
  EXPECT_NE(csv.find(absl::StrCat("el,1,", top.layer(), ",")), std::string::npos);
  // Every neuron has a stat: tiny preset has 4 layers x (64+32+32+64+192+192+64) = 2560 neurons.
  q.set_selected_only(false);
  q.set_layer(2);
  q.set_component(v1::COMPONENT_GATE_PROJ);
  auto gate = results.QueryNeurons(q, 10000);
  ASSERT_TRUE(gate.ok());
  EXPECT_EQ(gate->items.size(), 192u);
  q.set_criterion(v1::NEURON_CRITERION_LAPE);
  auto lape = results.QueryNeurons(q, 10000);
  ASSERT_TRUE(lape.ok());
  ASSERT_EQ(lape->items.size(), 192u);
  for (const auto& n : lape->items) {
    EXPECT_GE(n.activation_prob(), 0.0);
    EXPECT_LE(n.activation_prob(), 1.0);
  }
  const std::string log = ::nmoe::testing::ReadWholeFile(dir.file("run.log"));
  EXPECT_NE(log.find("responses spilled"), std::string::npos) << "memory_budget_mb 1 spills the responses";
}

// The lead's pipeline re-profiles each trained MoE model: a profile job on an MoE
// checkpoint has the dense layer's neurons in every layer and records the model.
TEST(ProfileJobTest, NmoeRunProfilesAnMoeCheckpoint) {
  testing::TempDir dir;
  MakeModel(dir.path() / "moe", {1, 3, 1, 2});
  std::string corpora;
  for (const std::string& lang : kLangs) absl::StrAppend(&corpora, "    - {language: ", lang, ", paths: [", Corpus(lang), "]}\n");
  std::ofstream(dir.file("job.yaml")) << absl::StrCat(
      "name: profile-moe\nresources: {dtype: COMPUTE_DTYPE_FP32, threads_per_worker: 1}\nprofile:\n  model: {path: moe}\n",
      "  corpora:\n", corpora, "  criteria: [NEURON_CRITERION_AP]\n  sentences_per_language: 20\n  top_n: ", kTopN,
      "\n  output_path: out\n  seed: 4\n");
  auto child = testing::ChildProcess::Start(
      {testing::BuildPath("worker/nmoe-run"), dir.file("job.yaml"), "--work-dir", dir.path().string(), "--threads", "1"},
      dir.file("run.log"));
  ASSERT_TRUE(child.ok());
  auto code = child->Wait(absl::Seconds(300));
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << ::nmoe::testing::ReadWholeFile(dir.file("run.log"));
  auto sink = storage::StoreResultSink::OpenLocal((dir.path() / "results.db").string());
  ASSERT_TRUE(sink.ok()) << sink.status();
  auto summary = (*sink)->GetProfileSummary("local");
  ASSERT_TRUE(summary.ok() && summary->has_value());
  const v1::ProfileSummary& s = **summary;
  EXPECT_EQ(s.num_layers(), 4u);
  EXPECT_EQ(s.hidden_size(), 64u);
  EXPECT_EQ(s.intermediate_size(), 192u);
  EXPECT_EQ(std::vector<uint32_t>(s.experts_per_layer().begin(), s.experts_per_layer().end()),
            (std::vector<uint32_t>{1, 3, 1, 2}));
  ASSERT_EQ(s.languages_size(), static_cast<int>(kLangs.size()));
  uint64_t mlp_in_moe_layers = 0;
  for (const auto& lp : s.languages()) {
    uint32_t total = 0;
    for (const auto& layer : lp.layers()) {
      total += layer.total();
      if (layer.layer() == 1 || layer.layer() == 3) {
        for (const char* c : {"gate_proj", "up_proj", "down_proj"}) mlp_in_moe_layers += layer.by_component().at(c);
      }
    }
    EXPECT_EQ(total, static_cast<uint32_t>(kTopN)) << lp.language();
  }
  EXPECT_GT(mlp_in_moe_layers, 0u) << "MoE layers' MLP neurons are profiled and can be selected";
}

}  // namespace
}  // namespace nmoe
