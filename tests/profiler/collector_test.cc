// nmoe::profiler collection on a tiny random model: hooks change no value of the
// forward; padded batched responses, LAPE counts and similarity sums equal a
// per-sentence reference taken from the model's own hook points; splitting the batches
// in two and merging the states equals the unsplit run; the unpadded forward gives the
// padded one's statistics.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/tensor.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>
#include <random>

#include "model/checkpoint.h"
#include "profiler/profile_run.h"
#include "trainer/presets.h"

namespace nmoe::profiler {
namespace {

constexpr int64_t kVocab = 64;

std::shared_ptr<model::CausalLm> TinyModel() {
  auto config = trainer::PresetConfig("tiny", kVocab, 1, 2);
  auto m = model::NewRandomModel(*config, 17);
  (*m)->eval();
  return *m;
}

std::vector<ProfileSentence> RandomSentences(int per_language, int languages) {
  std::mt19937 rng(9);
  std::vector<ProfileSentence> out;
  for (int l = 0; l < languages; ++l) {
    for (int i = 0; i < per_language; ++i) {
      ProfileSentence s;
      s.id = static_cast<int64_t>(out.size());
      s.language = l;
      const int len = 2 + static_cast<int>(rng() % 17);
      s.ids.push_back(1);  // BOS
      for (int t = 1; t < len; ++t) s.ids.push_back(3 + static_cast<int32_t>((rng() % 20) + 20 * static_cast<unsigned>(l)) % (kVocab - 3));
      out.push_back(std::move(s));
    }
  }
  return out;
}

// Records every wanted activation of one forward.
class Recorder : public model::ActivationHooks {
 public:
  Recorder(int64_t layers) : ActivationHooks(model::HookMask::All(layers)) {}
  void OnActivation(int64_t layer, model::Component c, const at::Tensor& out_BTC) override {
    seen[{layer, static_cast<int>(c)}] = out_BTC.detach().clone();
  }
  std::map<std::pair<int64_t, int>, at::Tensor> seen;
};

RunOptions AllCriteria() {
  RunOptions o;
  o.collect.ap = o.collect.lape = o.collect.similarity = true;
  o.collect.similarity_tokens = 1'000'000;
  return o;
}

TEST(CollectorTest, HooksChangeNoForwardValue) {
  auto m = TinyModel();
  const auto batches = MakeBatches(RandomSentences(6, 1), 64);
  ASSERT_GE(batches.size(), 2u);
  const SentenceBatch& b = batches.back();
  torch::NoGradGuard no_grad;
  model::ForwardOptions fwd;
  fwd.mask_BT = b.mask_BT;
  fwd.compute_logits = true;
  auto bare = m->Forward(b.ids_BT, fwd);
  ASSERT_TRUE(bare.ok());
  auto space = SpaceFor(m->config(), {});
  ASSERT_TRUE(space.ok());
  auto collector = std::make_shared<Collector>(*space, m->config().hidden_size, 1, AllCriteria().collect);
  collector->BeginBatch(0, b.mask_BT);
  m->SetHooks(collector);
  auto hooked = m->Forward(b.ids_BT, fwd);
  m->SetHooks(nullptr);
  ASSERT_TRUE(hooked.ok());
  EXPECT_TRUE(at::equal(bare->logits_BTV, hooked->logits_BTV));
  EXPECT_TRUE(at::equal(bare->last_hidden_BTD, hooked->last_hidden_BTD));
  auto again = m->Forward(b.ids_BT, fwd);
  EXPECT_TRUE(at::equal(bare->logits_BTV, again->logits_BTV));
}

TEST(CollectorTest, BatchedStatesEqualPerSentenceReference) {
  auto m = TinyModel();
  const int langs = 2;
  const auto sentences = RandomSentences(7, langs);
  const auto batches = MakeBatches(sentences, 48);
  auto collected = CollectProfile(*m, {"en", "el"}, batches, AllCriteria());
  ASSERT_TRUE(collected.ok()) << collected.status();
  ASSERT_EQ(collected->sentences, 14);
  const NeuronSpace& space = collected->space;
  auto rows = collected->responses->ReadChunk(0);
  ASSERT_TRUE(rows.ok());
  std::map<int64_t, size_t> row_of;
  for (size_t r = 0; r < rows->rows(); ++r) row_of[rows->sentence_ids[r]] = r;

  LapeCounts counts;
  counts.Init(langs, space.size());
  SimilaritySums sims;
  sims.Init(space.num_layers(), langs, m->config().hidden_size);
  torch::NoGradGuard no_grad;
  double max_err = 0;
  for (const ProfileSentence& s : sentences) {
    auto rec = std::make_shared<Recorder>(m->num_layers());
    m->SetHooks(rec);
    std::vector<int64_t> ids(s.ids.begin(), s.ids.end());
    model::ForwardOptions fwd;
    fwd.compute_logits = false;
    ASSERT_TRUE(m->Forward(at::tensor(ids, at::kLong).unsqueeze(0), fwd).ok());
    m->SetHooks(nullptr);
    counts.tokens[static_cast<size_t>(s.language)] += s.ids.size();
    const float* got = rows->values.data() + row_of.at(s.id) * static_cast<size_t>(space.size());
    for (int32_t l = 0; l < space.num_layers(); ++l) {
      for (Proj p : space.projs()) {
        const at::Tensor out = rec->seen.at({l, static_cast<int>(p)})[0];  // T x C
        const at::Tensor mean = out.mean(0).contiguous();
        const at::Tensor pos = out.gt(0).sum(0).contiguous();
        for (int64_t c = 0; c < out.size(1); ++c) {
          const int64_t flat = space.Offset(l, p) + c;
          max_err = std::max(max_err, static_cast<double>(std::fabs(got[flat] - mean[c].item<float>())));
          counts.counts[static_cast<size_t>(s.language)][static_cast<size_t>(flat)] += static_cast<uint64_t>(pos[c].item<int64_t>());
        }
      }
      const at::Tensor x = rec->seen.at({l, static_cast<int>(model::Component::kMlpInput)})[0].to(at::kDouble);
      const at::Tensor unit = (x / x.norm(2, {-1}, true)).sum(0).contiguous();
      for (int64_t d = 0; d < sims.hidden; ++d) sims.Sum(l, s.language)[d] += unit[d].item<double>();
      sims.Tokens(l, s.language) += s.ids.size();
    }
  }
  EXPECT_LT(max_err, 2e-6);
  EXPECT_EQ(collected->lape_counts.counts, counts.counts);
  EXPECT_EQ(collected->lape_counts.tokens, counts.tokens);
  EXPECT_EQ(collected->similarity_sums.tokens, sims.tokens);
  for (int32_t l = 0; l < space.num_layers(); ++l) {
    for (int a = 0; a < langs; ++a) {
      for (int b = 0; b < langs; ++b) {
        EXPECT_NEAR(collected->similarity_sums.Similarity(l, a, b), sims.Similarity(l, a, b), 1e-6) << l << a << b;
      }
    }
  }
}

// The unpadded forward (the default) and the padded one give the same statistics: the
// collector takes the real rows directly.
TEST(CollectorTest, UnpaddedRunEqualsPaddedRun) {
  auto m = TinyModel();
  const auto batches = MakeBatches(RandomSentences(9, 2), 64);
  int64_t padded = 0, real = 0;
  for (const SentenceBatch& b : batches) padded += b.ids_BT.numel(), real += b.real_tokens;
  ASSERT_LT(real, padded);  // there is padding to drop
  RunOptions with_padding = AllCriteria();
  with_padding.unpad = false;
  RunOptions o = AllCriteria();
  o.collect.similarity_tokens = 40;  // the quota ends inside a batch
  with_padding.collect.similarity_tokens = 40;
  auto a = CollectProfile(*m, {"en", "el"}, batches, with_padding);
  auto b = CollectProfile(*m, {"en", "el"}, batches, o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->lape_counts.tokens, b->lape_counts.tokens);
  size_t differing = 0, total = 0;
  for (size_t l = 0; l < a->lape_counts.counts.size(); ++l) {
    for (size_t i = 0; i < a->lape_counts.counts[l].size(); ++i) {
      // An output within rounding of 0 may flip sign between GEMM shapes.
      const int64_t d = static_cast<int64_t>(a->lape_counts.counts[l][i]) - static_cast<int64_t>(b->lape_counts.counts[l][i]);
      differing += d != 0;
      ASSERT_LE(std::abs(d), 1) << l << " " << i;
      ++total;
    }
  }
  EXPECT_LT(differing, total / 1000 + 1);
  EXPECT_EQ(a->similarity_sums.tokens, b->similarity_sums.tokens);
  for (size_t i = 0; i < a->similarity_sums.sums.size(); ++i) {
    ASSERT_NEAR(a->similarity_sums.sums[i], b->similarity_sums.sums[i], 1e-5);
  }
  auto ra = a->responses->ReadChunk(0);
  auto rb = b->responses->ReadChunk(0);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->sentence_ids, rb->sentence_ids);
  ASSERT_EQ(ra->values.size(), rb->values.size());
  for (size_t i = 0; i < ra->values.size(); ++i) ASSERT_NEAR(ra->values[i], rb->values[i], 1e-5) << i;
}

TEST(CollectorTest, SimilarityKeepsTheFirstTokensPerLanguage) {
  auto m = TinyModel();
  RunOptions o;
  o.collect.ap = false;
  o.collect.similarity = true;
  o.collect.similarity_tokens = 25;
  auto collected = CollectProfile(*m, {"en", "el"}, MakeBatches(RandomSentences(6, 2), 40), o);
  ASSERT_TRUE(collected.ok());
  for (int32_t l = 0; l < collected->space.num_layers(); ++l) {
    EXPECT_EQ(collected->similarity_sums.Tokens(l, 0), 25u);
    EXPECT_EQ(collected->similarity_sums.Tokens(l, 1), 25u);
  }
  EXPECT_EQ(collected->responses, nullptr);
}

TEST(CollectorTest, MergedHalvesEqualUnsplit) {
  auto m = TinyModel();
  const auto batches = MakeBatches(RandomSentences(9, 3), 40);
  ASSERT_GE(batches.size(), 4u);
  const std::vector<std::string> langs = {"en", "el", "zh"};
  auto whole = CollectProfile(*m, langs, batches, AllCriteria());
  std::vector<SentenceBatch> first, second;
  for (size_t i = 0; i < batches.size(); ++i) (i % 2 ? second : first).push_back(batches[i]);
  auto a = CollectProfile(*m, langs, first, AllCriteria());
  auto b = CollectProfile(*m, langs, second, AllCriteria());
  ASSERT_TRUE(whole.ok() && a.ok() && b.ok());
  ASSERT_TRUE(a->lape_counts.Merge(b->lape_counts).ok());
  EXPECT_EQ(a->lape_counts.counts, whole->lape_counts.counts);
  EXPECT_EQ(a->lape_counts.tokens, whole->lape_counts.tokens);
  ASSERT_TRUE(a->similarity_sums.Merge(b->similarity_sums).ok());
  EXPECT_EQ(a->similarity_sums.tokens, whole->similarity_sums.tokens);
  for (size_t i = 0; i < a->similarity_sums.sums.size(); ++i) {
    ASSERT_NEAR(a->similarity_sums.sums[i], whole->similarity_sums.sums[i], 1e-9);
  }
  auto ra = a->responses->ReadChunk(0);
  auto rb = b->responses->ReadChunk(0);
  auto rw = whole->responses->ReadChunk(0);
  ASSERT_TRUE(ra.ok() && rb.ok() && rw.ok());
  ASSERT_TRUE(ra->Merge(std::move(*rb)).ok());
  ResponseRows sorted = std::move(*rw);
  ASSERT_TRUE(sorted.Merge(ResponseRows{sorted.neuron_begin, sorted.neuron_end, {}, {}, {}}).ok());  // order by id
  EXPECT_EQ(ra->sentence_ids, sorted.sentence_ids);
  EXPECT_EQ(ra->values, sorted.values);
  std::vector<std::vector<double>> ap_merged(3, std::vector<double>(static_cast<size_t>(whole->space.size())));
  auto ap_whole = ap_merged;
  ScoreAp(*ra, 3, 1, &ap_merged);
  ScoreAp(sorted, 3, 1, &ap_whole);
  EXPECT_EQ(ap_merged, ap_whole);
}

}  // namespace
}  // namespace nmoe::profiler
