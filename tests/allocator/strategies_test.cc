// The allocation rules of METHOD.md step 2, hand-worked case by case, and the
// two published Llama-3.2-3B allocations from inputs consistent with them.
#include "allocator/strategies.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "allocator/inputs.h"
#include "tests/allocator/published_inputs.h"

namespace nmoe::allocator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One HR and one LR language per layer: C_l = high + low.
absl::StatusOr<LayerAllocation> Guided(const std::vector<uint64_t>& high, const std::vector<uint64_t>& low,
                                       uint32_t max_experts) {
  std::vector<std::vector<uint64_t>> h, l;
  for (uint64_t v : high) h.push_back({v});
  for (uint64_t v : low) l.push_back({v});
  return NeuronGuided(h, l, max_experts);
}

TEST(NeuronGuided, ReproducesThePublishedAllocation) {
  std::vector<std::vector<uint64_t>> high, low;
  for (const auto& row : testing::kNeuronCounts) {
    high.push_back({row[0]});
    low.push_back({row[1], row[2], row[3]});
  }
  auto a = NeuronGuided(high, low, 6);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->experts, testing::kNeuronMoE);
  EXPECT_EQ(TotalExperts(a->experts), 49u);
  EXPECT_DOUBLE_EQ(a->scores[0], 342 + 68);  // C_0 = |U_en| + mean(60, 70, 74)
  EXPECT_NEAR(a->scores[12], 80 + 26.0 / 3, 1e-12);
}

TEST(NeuronGuided, DefaultMaxExpertsIsSix) {
  auto a = Guided({0, 10, 20}, {0, 0, 0}, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(1, 1, 6));
}

TEST(NeuronGuided, ZeroCountLayersStayDense) {
  // C = 0, 5, 0, 15: C_min = 5 (zeros excluded), C_max = 15.
  auto a = Guided({0, 5, 0, 10}, {0, 0, 0, 5}, 6);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(1, 1, 1, 6));
}

TEST(NeuronGuided, AllZeroGivesADenseModel) {
  auto a = Guided({0, 0, 0}, {0, 0, 0}, 6);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(1, 1, 1));
}

TEST(NeuronGuided, AllLayersEqualGetMaxExperts) {
  auto a = Guided({7, 7, 7}, {3, 3, 3}, 4);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(4, 4, 4));
  // The same with a zero layer: only the non-empty layers are equal.
  auto b = Guided({0, 7, 7}, {0, 3, 3}, 4);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(b->experts, ElementsAre(1, 4, 4));
}

TEST(NeuronGuided, FloorAtExactBoundaries) {
  // C = 10, 20, 30, 29 with N_max = 3: (C - 10) / 20 x 2 = 0, 1, 2, 1.9.
  auto a = Guided({10, 20, 30, 29}, {0, 0, 0, 0}, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(1, 2, 3, 2));
  // N_max = 2: only the maximum gets an expert.
  auto b = Guided({10, 20, 30, 29}, {0, 0, 0, 0}, 2);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(b->experts, ElementsAre(1, 1, 2, 1));
}

TEST(NeuronGuided, MeanOverLowResourceLanguagesIsExact) {
  // C = 0 + mean(1, 0, 0) = 1/3, and 1 + mean(0, 0, 0) = 1, 2/3 + ... :
  // layer scores 1/3, 1, 2/3 -> fractions 0, 1, 1/2 of (N_max - 1) = 2.
  std::vector<std::vector<uint64_t>> high = {{0}, {1}, {0}}, low = {{1, 0, 0}, {0, 0, 0}, {1, 1, 0}};
  auto a = NeuronGuided(high, low, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(1, 3, 2));
  EXPECT_NEAR(a->scores[0], 1.0 / 3, 1e-15);
}

TEST(NeuronGuided, SeveralHighResourceLanguagesAreAveraged) {
  // HR en, es; LR el: C = mean(en, es) + el = 5, 10, 20.
  std::vector<std::vector<uint64_t>> high = {{4, 6}, {10, 10}, {20, 0}}, low = {{0}, {0}, {10}};
  auto a = NeuronGuided(high, low, 3);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->scores, ElementsAre(5, 10, 20));
  EXPECT_THAT(a->experts, ElementsAre(1, 1, 3));  // (10-5)/15 x 2 = 0.67
}

TEST(NeuronGuided, RejectsBadInput) {
  EXPECT_THAT(Guided({}, {}, 6).status().message(), HasSubstr("no layers"));
  EXPECT_THAT(Guided({1}, {1}, 1).status().message(), HasSubstr("at least 2"));
  std::vector<std::vector<uint64_t>> high = {{1}, {1, 2}}, low = {{1}, {1}};
  EXPECT_THAT(NeuronGuided(high, low, 6).status().message(), HasSubstr("layer 1: 2 high-resource counts, expected 1"));
  EXPECT_THAT(Guided({uint64_t{1} << 50}, {0}, 6).status().message(), HasSubstr("too large"));
}

TEST(LayerSimilarity, ReproducesThePublishedAllocation) {
  std::vector<double> scores;
  for (size_t l = 0; l < testing::kLayerMoE.size(); ++l) scores.push_back(testing::TargetScore(l));
  auto a = LayerSimilarity(scores, 70);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->experts, testing::kLayerMoE);
  EXPECT_EQ(TotalExperts(a->experts), 84u);
  EXPECT_EQ(a->scores, scores);
}

TEST(LayerSimilarity, CeilOfTheInverseShare) {
  // U = 2, 4, 4 (sum 10). B = 10: exactly 2, 4, 4. B = 7: 1.4, 2.8, 2.8 -> 2, 3, 3.
  auto a = LayerSimilarity({0.5, 0.25, 0.25}, 10);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(2, 4, 4));
  auto b = LayerSimilarity({0.5, 0.25, 0.25}, 7);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(b->experts, ElementsAre(2, 3, 3));
  auto c = LayerSimilarity({0.5, 0.25, 0.25}, 0);  // default B = 70: 14, 28, 28
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->experts, ElementsAre(14, 28, 28));
}

TEST(LayerSimilarity, FloatingPointNoiseAddsNoExpert) {
  // U = 10, 5/3; share x 7 = 6 and 1 exactly, but in doubles 1.0000000000000002.
  auto a = LayerSimilarity({0.1, 0.6}, 7);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(6, 1));
}

TEST(LayerSimilarity, AllLayersEqualShareTheBudget) {
  auto a = LayerSimilarity({0.3, 0.3, 0.3, 0.3}, 10);  // 2.5 each
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(a->experts, ElementsAre(3, 3, 3, 3));
}

TEST(LayerSimilarity, RejectsNonPositiveScores) {
  EXPECT_THAT(LayerSimilarity({0.2, 0.0}, 70).status().message(), HasSubstr("layer 1: similarity S_l = 0"));
  EXPECT_THAT(LayerSimilarity({-0.1}, 70).status().message(), HasSubstr("layer 0"));
  EXPECT_THAT(LayerSimilarity({}, 70).status().message(), HasSubstr("no layers"));
}

TEST(LayerSimilarity, ScoreOfPairs) {
  EXPECT_DOUBLE_EQ(LayerSimilarityScore({0.2, 0.4}, {0.1, 0.1, 0.4}), 0.5 * (0.3 + 0.2));
  EXPECT_DOUBLE_EQ(LayerSimilarityScore({}, {0.1, 0.3}), 0.2);  // one new language
}

TEST(UniformAndManual, CountsAsGiven) {
  auto u = Uniform(4, 3);
  ASSERT_TRUE(u.ok());
  EXPECT_THAT(u->experts, ElementsAre(3, 3, 3, 3));
  EXPECT_FALSE(Uniform(0, 3).ok());
  EXPECT_FALSE(Uniform(4, 0).ok());
  auto m = Manual({1, 2, 8});
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m->experts, ElementsAre(1, 2, 8));
  EXPECT_THAT(Manual({2, 0}).status().message(), HasSubstr("layer 1 has 0 experts"));
  EXPECT_FALSE(Manual({}).ok());
}

TEST(TotalBudget, TrimsTheLargestLayersFirst) {
  // 6+2+1+4 = 13 -> 10: 6->5, 5->4, then 4 vs 4: the lower priority (layer 0: 1.0 < 3.0) loses.
  auto a = ApplyTotalBudget({6, 2, 1, 4}, {1.0, 0.5, 0.1, 3.0}, 10);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(*a, ElementsAre(3, 2, 1, 4));
  // Equal priorities: the later layer loses first.
  auto b = ApplyTotalBudget({3, 3, 3}, {}, 7);
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(*b, ElementsAre(3, 2, 2));
  // Under the cap: unchanged; 0 = no cap; the cap equal to the layers: all dense.
  EXPECT_THAT(*ApplyTotalBudget({3, 1}, {}, 10), ElementsAre(3, 1));
  EXPECT_THAT(*ApplyTotalBudget({3, 1}, {}, 0), ElementsAre(3, 1));
  EXPECT_THAT(*ApplyTotalBudget({3, 5}, {}, 2), ElementsAre(1, 1));
  EXPECT_THAT(ApplyTotalBudget({3, 5, 1}, {}, 2).status().message(), HasSubstr("below the number of layers (3)"));
}

TEST(Totals, ExpertsAndAddedParameters) {
  EXPECT_EQ(TotalExperts(testing::kNeuronMoE), 49u);
  EXPECT_EQ(TotalExperts(testing::kLayerMoE), 84u);
  // Llama-3.2-3B sizes: 21 added experts x 3 x 3072 x 8192.
  EXPECT_EQ(AddedParameters(testing::kNeuronMoE, 3072, 8192), uint64_t{21} * 3 * 3072 * 8192);
  EXPECT_EQ(AddedParameters({1, 1}, 3072, 8192), 0u);
  EXPECT_EQ(AddedParameters({3, 2}, 4, 5), uint64_t{3} * 3 * 4 * 5);
}

}  // namespace
}  // namespace nmoe::allocator
