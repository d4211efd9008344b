// profiler_core: AP against scikit-learn (child /usr/bin/python3) on random data and
// on data with ties; AP and LAPE on hand-worked examples; top-N and per-layer counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "profiler/average_precision.h"
#include "profiler/lape.h"
#include "profiler/selection.h"
#include "tests/support/temp_dir.h"

namespace nmoe::profiler {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("NMOE_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// AP of every class by sklearn for (labels, scores).
std::vector<double> SklearnAp(const std::vector<int32_t>& labels, const std::vector<float>& scores, int classes) {
  testing::TempDir dir;
  {
    std::ofstream in(dir.file("in.txt"));
    in << labels.size() << " " << classes << "\n";
    for (size_t i = 0; i < labels.size(); ++i) in << labels[i] << " " << absl::StrFormat("%.9g", scores[i]) << "\n";
  }
  const std::string cmd = absl::StrCat("/usr/bin/python3 ", SourceDir(), "/tests/profiler/sklearn_ap.py ",
                                       dir.file("in.txt"), " ", dir.file("out.txt"));
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<double> out;
  std::ifstream f(dir.file("out.txt"));
  double v;
  while (f >> v) out.push_back(v);
  return out;
}

void CompareWithSklearn(const std::vector<int32_t>& labels, const std::vector<float>& scores, int classes) {
  OneVsRestAp scorer(labels, classes);
  std::vector<double> mine(static_cast<size_t>(classes));
  scorer.Score(scores.data(), mine.data());
  const std::vector<double> ref = SklearnAp(labels, scores, classes);
  ASSERT_EQ(ref.size(), mine.size());
  for (int c = 0; c < classes; ++c) EXPECT_NEAR(mine[static_cast<size_t>(c)], ref[static_cast<size_t>(c)], 1e-9) << "class " << c;
}

TEST(AveragePrecisionTest, SklearnDocExample) {
  // sklearn's documentation: y_true [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] -> 0.8333...
  const std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<uint8_t> y = {0, 0, 1, 1};
  EXPECT_NEAR(AveragePrecision(s, y), 5.0 / 6.0, 1e-12);
}

TEST(AveragePrecisionTest, TiesAreOneThreshold) {
  // All scores equal: one threshold, precision = prevalence.
  const std::vector<float> s = {0.5f, 0.5f, 0.5f, 0.5f};
  const std::vector<uint8_t> y = {1, 0, 0, 0};
  EXPECT_NEAR(AveragePrecision(s, y), 0.25, 1e-12);
  // Hand-worked: scores 3,2,2,1 labels 1,0,1,0 -> thresholds 3 (P 1, R 1/2), 2 (P 2/3, R 1).
  const std::vector<float> s2 = {3, 2, 2, 1};
  const std::vector<uint8_t> y2 = {1, 0, 1, 0};
  EXPECT_NEAR(AveragePrecision(s2, y2), 0.5 * 1.0 + 0.5 * (2.0 / 3.0), 1e-12);
  EXPECT_EQ(AveragePrecision(s2, std::vector<uint8_t>{0, 0, 0, 0}), 0.0);
}

TEST(AveragePrecisionTest, MatchesSklearnOnRandomData) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 3; ++trial) {
    const int classes = 2 + trial * 3;
    std::vector<int32_t> labels;
    std::vector<float> scores;
    for (int i = 0; i < 900; ++i) {
      const int32_t c = static_cast<int32_t>(rng() % static_cast<uint64_t>(classes));
      labels.push_back(c);
      scores.push_back(normal(rng) + 0.3f * static_cast<float>(c));
    }
    CompareWithSklearn(labels, scores, classes);
  }
}

TEST(AveragePrecisionTest, MatchesSklearnWithTies) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  const int classes = 4;
  std::vector<int32_t> labels;
  std::vector<float> scores;
  for (int i = 0; i < 1200; ++i) {
    const int32_t c = static_cast<int32_t>(rng() % classes);
    labels.push_back(c);
    // Few distinct values (rounded to 0.25) and a block of exact zeros, as a ReLU-like
    // response or a constant neuron gives.
    const float v = i % 7 == 0 ? 0.0f : std::round((normal(rng) + 0.2f * static_cast<float>(c)) * 4) / 4;
    scores.push_back(v);
  }
  CompareWithSklearn(labels, scores, classes);
  // A constant neuron: every class scores its prevalence.
  CompareWithSklearn(labels, std::vector<float>(labels.size(), 1.5f), classes);
}

TEST(LapeTest, HandWorkedExample) {
  // 4 neurons, 2 languages, 10 tokens each.
  //   p[en] = 0.9 0.5 0.1 0.0     p[el] = 0.1 0.5 0.0 0.8
  // All 8 p sorted: 0 0 .1 .1 .5 .5 .8 .9; percentile 75 -> k = round(8*0.75) = 6 -> 0.5.
  // Neurons with some p > 0.5: u0 (0.9), u3 (0.8); u1 (0.5 = threshold, not above) and
  // u2 are filtered (entropy +inf).
  // Entropies: u0: q = .9, .1 -> -(.9 ln .9 + .1 ln .1) = 0.325083; u3: q = 0, 1 -> 0.
  // top_fraction 0.5 -> round(4 * 0.5) = 2 neurons: u3 (0), then u0 (0.325).
  // u3 belongs to el (0.8 > 0.5); u0 to en (0.9 > 0.5).
  const std::vector<std::vector<uint64_t>> counts = {{9, 5, 1, 0}, {1, 5, 0, 8}};
  auto r = ScoreLape(counts, {10, 10}, {.percentile = 75, .top_fraction = 0.5});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->threshold, 0.5);
  EXPECT_NEAR(r->entropy[0], -(0.9 * std::log(0.9) + 0.1 * std::log(0.1)), 1e-12);
  EXPECT_TRUE(std::isinf(r->entropy[1]));
  EXPECT_TRUE(std::isinf(r->entropy[2]));
  EXPECT_DOUBLE_EQ(r->entropy[3], 0.0);
  EXPECT_EQ(r->selected_neurons, 2);
  EXPECT_EQ(r->selected[0], std::vector<int64_t>({0}));
  EXPECT_EQ(r->selected[1], std::vector<int64_t>({3}));
  EXPECT_DOUBLE_EQ(r->prob[1][3], 0.8);
  // A neuron above the threshold in both languages belongs to both.
  auto both = ScoreLape({{9, 9, 0, 0}, {8, 1, 0, 0}}, {10, 10}, {.percentile = 50, .top_fraction = 0.5});
  ASSERT_TRUE(both.ok());
  // Sorted p: 0 0 0 0 .1 .8 .9 .9; k = 4 -> threshold 0. u0 (.9, .8): H = 0.6914,
  // u1 (.9, .1): H = 0.3251 -> u1 first, then u0; u0 is in both languages.
  EXPECT_EQ(both->selected[0], std::vector<int64_t>({1, 0}));
  EXPECT_EQ(both->selected[1], std::vector<int64_t>({1, 0}));
  EXPECT_FALSE(ScoreLape({{1, 2}}, {1, 2}, {}).ok());
  EXPECT_FALSE(ScoreLape({{1, 2}}, {4}, {.percentile = 0}).ok());
}

TEST(SelectionTest, TopNBreaksTiesByLowerIdAndCountsPairs) {
  EXPECT_EQ(TopN({0.5, 0.9, 0.5, 0.1, 0.9}, 3), std::vector<int64_t>({1, 4, 0}));
  EXPECT_EQ(TopN({0.5}, 3), std::vector<int64_t>({0}));
  auto space = NeuronSpace::Create(2, {4, 2, 2, 4, 6, 6, 4});
  ASSERT_TRUE(space.ok());
  EXPECT_EQ(space->size(), 2 * 28);
  // Channel 1 of q_proj and channel 1 of gate_proj in layer 1 are two neurons.
  const int64_t q1 = space->Offset(1, Proj::kQ) + 1, g1 = space->Offset(1, Proj::kGate) + 1;
  EXPECT_EQ(space->Id(g1), (NeuronId{1, Proj::kGate, 1}));
  const auto counts = CountPerLayer(*space, {q1, g1, space->Offset(0, Proj::kDown) + 3});
  EXPECT_EQ(counts[1][static_cast<int>(Proj::kQ)], 1u);
  EXPECT_EQ(counts[1][static_cast<int>(Proj::kGate)], 1u);
  EXPECT_EQ(counts[0][static_cast<int>(Proj::kDown)], 1u);
  auto subset = NeuronSpace::Create(1, {4, 2, 2, 4, 6, 6, 4}, {Proj::kDown, Proj::kGate});
  ASSERT_TRUE(subset.ok());
  EXPECT_EQ(subset->size(), 10);
  EXPECT_EQ(subset->Offset(0, Proj::kDown), 6);
  EXPECT_FALSE(subset->Has(Proj::kQ));
  EXPECT_FALSE(NeuronSpace::Create(1, {4, 2, 2, 4, 6, 6, 4}, {Proj::kQ, Proj::kQ}).ok());
}

}  // namespace
}  // namespace nmoe::profiler
