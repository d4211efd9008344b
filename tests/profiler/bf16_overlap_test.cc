// Issue 10's profiler check: the AP selections of a bf16-autocast profile overlap the
// fp32 profile's by at least 95%.
//
// What this measures, honestly: a RANDOM-weight tiny-preset model (4 layers, 2,560
// neurons; no trained model exists in the tests) with a BPE tokenizer trained on the
// committed sample corpus, profiled on 40 sentences of each of en, el and zh of that
// corpus. The paper's top-1,000 is 0.13% of Llama-3.2-3B's neurons but 39% of these
// 2,560, so top-1,000 overlap is an easy bar here; the test also requires the stricter
// top-100 (4%) overlap, the share of the neuron space closer to the paper's setting at
// this size. It shows that bf16 autocast's rounding of the projections does not
// reorder the AP ranking much; it says nothing about a trained model's neurons.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "model/checkpoint.h"
#include "profiler/profile_run.h"
#include "profiler/selection.h"
#include "tests/profiler/tiny_model.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::profiler {
namespace {

const std::vector<std::string> kLangs = {"en", "el", "zh"};

std::string Corpus(const std::string& lang) { return testing::SampleCorpus(lang); }

double Overlap(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const std::set<int64_t> sa(a.begin(), a.end());
  size_t both = 0;
  for (int64_t u : b) both += sa.count(u);
  return a.empty() ? 0.0 : static_cast<double>(both) / static_cast<double>(a.size());
}

TEST(Bf16OverlapTest, ApSelectionsOfBf16AndFp32Overlap) {
  auto tiny = testing::MakeTinyModel(kLangs, 400, 300, 12);
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  auto tok = tokenizer::Tokenizer::FromJson(tiny->tokenizer_json);
  ASSERT_TRUE(tok.ok());
  model::CausalLm& lm = *tiny->lm;
  lm.eval();

  std::vector<LanguageCorpus> corpora;
  for (const std::string& lang : kLangs) corpora.push_back({lang, {Corpus(lang)}});
  SentenceOptions so;
  so.per_language = 40;
  so.max_tokens = 64;
  so.seed = 1;
  auto sentences = LoadSentences(corpora, *tok, so);
  ASSERT_TRUE(sentences.ok()) << sentences.status();
  const auto batches = MakeBatches(*sentences, 1024, tok->eos_id().value_or(0));

  ProfileScores scores[2];
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    RunOptions run;
    run.collect.ap = true;
    run.bf16_autocast = bf16 == 1;
    auto collected = CollectProfile(lm, kLangs, batches, run);
    ASSERT_TRUE(collected.ok()) << collected.status();
    ScoreOptions so2;
    so2.top_n = 1000;
    auto s = ScoreProfile(*collected, so2);
    ASSERT_TRUE(s.ok()) << s.status();
    scores[bf16] = std::move(*s);
  }
  for (size_t l = 0; l < kLangs.size(); ++l) {
    const double top1000 = Overlap(scores[0].ap_selected[l], scores[1].ap_selected[l]);
    const double top100 = Overlap(TopN(scores[0].ap[l], 100), TopN(scores[1].ap[l], 100));
    double max_diff = 0;
    for (size_t u = 0; u < scores[0].ap[l].size(); ++u) {
      max_diff = std::max(max_diff, std::abs(scores[0].ap[l][u] - scores[1].ap[l][u]));
    }
    std::printf("%s: bf16 vs fp32 AP top-1000 overlap %.4f, top-100 overlap %.2f, max |AP diff| %.4f\n",
                kLangs[l].c_str(), top1000, top100, max_diff);
    EXPECT_GE(top1000, 0.95) << kLangs[l];
    EXPECT_GE(top100, 0.90) << kLangs[l];
    EXPECT_GT(max_diff, 0.0) << "bf16 autocast was not in effect";
  }
}

}  // namespace
}  // namespace nmoe::profiler
