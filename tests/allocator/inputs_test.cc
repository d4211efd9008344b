// The offline input files (formats of issue 5), stored profiles, and the
// (component, index) neuron counting.
#include "allocator/inputs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/allocator/published_inputs.h"

namespace nmoe::allocator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseNeuronCounts, PublishedInputs) {
  auto t = ParseNeuronCounts(testing::NeuronCountsJson());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->high_resource, ElementsAre("en"));
  EXPECT_THAT(t->low_resource, ElementsAre("el", "hu", "tr"));
  ASSERT_EQ(t->layers.size(), 28u);
  EXPECT_EQ(t->layers[0].at("en"), 342u);
  auto a = AllocateNeuronGuided(*t, 6);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->experts, testing::kNeuronMoE);
}

TEST(ParseSimilarity, PublishedInputsWithKeysInEitherOrder) {
  auto t = ParseSimilarity(testing::SimilarityJson());
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->layers.size(), 28u);
  EXPECT_EQ(t->layers[1].size(), 12u);  // 3 new-new + 9 new-old pairs
  auto a = AllocateLayerSimilarity(*t, 70);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->experts, testing::kLayerMoE);
  for (size_t l = 0; l < 28; ++l) EXPECT_NEAR(a->scores[l], testing::TargetScore(l), 1e-12) << l;
}

struct BadCase {
  std::string name;
  std::string json;
  std::string error;  // a substring of the message
};

std::vector<BadCase> BadCountFiles() {
  const std::string langs = R"("high_resource": ["en"], "low_resource": ["el", "hu"])";
  return {
      {"NotJson", "{\"high_resource\": [", "neuron-counts file is not valid JSON"},
      {"Empty", "", "not valid JSON"},
      {"NotAnObject", "[1, 2]", "expected a JSON object, got array"},
      {"MissingHigh", R"({"low_resource": ["el"], "layers": [{"el": 1}]})", "high_resource: is missing"},
      {"MissingLow", R"({"high_resource": ["en"], "layers": [{"en": 1}]})", "low_resource: is missing"},
      {"MissingLayers", "{" + langs + "}", "layers: is missing"},
      {"UnknownKey", "{" + langs + R"(, "layer": []})", "layer: unknown key"},
      {"HighNotArray", R"({"high_resource": "en", "low_resource": ["el"], "layers": [{}]})",
       "high_resource: expected an array of language codes, got string"},
      {"HighEmpty", R"({"high_resource": [], "low_resource": ["el"], "layers": [{}]})", "high_resource: is empty"},
      {"LanguageNotString", R"({"high_resource": [1], "low_resource": ["el"], "layers": [{}]})",
       "high_resource[0]: expected a language code string, got number"},
      {"BadLanguageCode", R"({"high_resource": ["English"], "low_resource": ["el"], "layers": [{}]})",
       "high_resource[0]: 'English' is not a language code"},
      {"LanguageTwice", R"({"high_resource": ["en"], "low_resource": ["el", "el"], "layers": [{}]})",
       "low_resource[1]: 'el' is listed twice"},
      {"LanguageInBoth", R"({"high_resource": ["en"], "low_resource": ["el", "en"], "layers": [{}]})",
       "low_resource: 'en' is also in high_resource"},
      {"LayersNotArray", "{" + langs + R"(, "layers": {"en": 1}})", "layers: expected an array of objects, got object"},
      {"LayersEmpty", "{" + langs + R"(, "layers": []})", "layers: is empty"},
      {"LayerNotObject", "{" + langs + R"(, "layers": [{"en": 1, "el": 1, "hu": 1}, [1, 2]]})",
       "layers[1]: expected an object, got array"},
      {"MissingLanguageInLayer", "{" + langs + R"(, "layers": [{"en": 1, "el": 1, "hu": 1}, {"en": 1, "el": 2}]})",
       "layers[1]: no count for 'hu'"},
      {"NegativeCount", "{" + langs + R"(, "layers": [{"en": 1, "el": -3, "hu": 1}]})",
       "layers[0].el: neuron count -3 is negative"},
      {"FractionalCount", "{" + langs + R"(, "layers": [{"en": 1.5, "el": 3, "hu": 1}]})",
       "layers[0].en: expected a neuron count (an integer >= 0), got 1.5"},
      {"StringCount", "{" + langs + R"(, "layers": [{"en": "12", "el": 3, "hu": 1}]})",
       "layers[0].en: expected a neuron count (an integer >= 0), got string"},
      {"NullCount", "{" + langs + R"(, "layers": [{"en": 1, "el": 3, "hu": 1, "de": null}]})",
       "layers[0].de: expected a neuron count"},
  };
}

class BadCountFile : public ::testing::TestWithParam<BadCase> {};
TEST_P(BadCountFile, NamesTheProblem) {
  auto t = ParseNeuronCounts(GetParam().json);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr(GetParam().error));
}
INSTANTIATE_TEST_SUITE_P(Cases, BadCountFile, ::testing::ValuesIn(BadCountFiles()),
                         [](const auto& info) { return info.param.name; });

std::vector<BadCase> BadSimilarityFiles() {
  const std::string langs = R"("new": ["el", "hu"], "old": ["en"])";
  const std::string full = R"("el-hu": 0.1, "el-en": 0.2, "hu-en": 0.3)";
  return {
      {"NotJson", "{\"new\": [\"el\"]", "similarity file is not valid JSON"},
      {"NotAnObject", "\"x\"", "expected a JSON object, got string"},
      {"MissingNew", R"({"old": ["en"], "layers": [{}]})", "new: is missing"},
      {"MissingOld", R"({"new": ["el"], "layers": [{}]})", "old: is missing"},
      {"OldEmpty", R"({"new": ["el"], "old": [], "layers": [{}]})", "old: is empty"},
      {"UnknownKey", "{" + langs + R"(, "layers": [{)" + full + R"(}], "budget": 70})", "budget: unknown key"},
      {"NewAlsoOld", R"({"new": ["el", "en"], "old": ["en"], "layers": [{}]})", "old: 'en' is also in new"},
      {"MissingLayers", "{" + langs + "}", "layers: is missing"},
      {"LayerNotObject", "{" + langs + R"(, "layers": [0.5]})", "layers[0]: expected an object, got number"},
      {"MissingPair", "{" + langs + R"(, "layers": [{)" + full + R"(}, {"el-hu": 0.1, "en-el": 0.2}]})",
       "layers[1]: no similarity for the pair hu-en (key \"hu-en\" or \"en-hu\")"},
      {"MissingNewNewPair", "{" + langs + R"(, "layers": [{"el-en": 0.2, "hu-en": 0.3}]})",
       "layers[0]: no similarity for the pair el-hu"},
      {"BothOrdersDisagree", "{" + langs + R"(, "layers": [{)" + full + R"(, "hu-el": 0.5}]})",
       "layers[0]: \"el-hu\" and \"hu-el\" give different similarities"},
      {"StringValue", "{" + langs + R"(, "layers": [{"el-hu": "0.1", "el-en": 0.2, "hu-en": 0.3}]})",
       "layers[0].el-hu: expected a number, got string"},
      {"OutOfRange", "{" + langs + R"(, "layers": [{"el-hu": 1.5, "el-en": 0.2, "hu-en": 0.3}]})",
       "layers[0].el-hu: similarity 1.5 is outside [-1, 1]"},
      {"BadOtherValue", "{" + langs + R"(, "layers": [{)" + full + R"(, "en-zh": true}]})",
       "layers[0].en-zh: expected a number, got boolean"},
  };
}

class BadSimilarityFile : public ::testing::TestWithParam<BadCase> {};
TEST_P(BadSimilarityFile, NamesTheProblem) {
  auto t = ParseSimilarity(GetParam().json);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr(GetParam().error));
}
INSTANTIATE_TEST_SUITE_P(Cases, BadSimilarityFile, ::testing::ValuesIn(BadSimilarityFiles()),
                         [](const auto& info) { return info.param.name; });

TEST(ParseSimilarity, BothOrdersAgreeingAndOneNewLanguage) {
  auto t = ParseSimilarity(R"({"new": ["el"], "old": ["en", "es"],
      "layers": [{"el-en": 0.2, "en-el": 0.2, "es-el": 0.4}, {"el-en": 0.1, "el-es": 0.1}]})");
  ASSERT_TRUE(t.ok()) << t.status();
  auto a = AllocateLayerSimilarity(*t, 9);
  ASSERT_TRUE(a.ok());
  EXPECT_NEAR(a->scores[0], 0.3, 1e-15);  // no new-new pair: the new-old mean
  EXPECT_NEAR(a->scores[1], 0.1, 1e-15);
  EXPECT_THAT(a->experts, ElementsAre(3, 7));  // U = 10/3, 10: 2.25, 6.75
}

TEST(ParseSimilarity, NonPositiveLayerScoreIsAnErrorAtAllocation) {
  auto t = ParseSimilarity(R"({"new": ["el"], "old": ["en"], "layers": [{"el-en": 0.2}, {"el-en": -0.1}]})");
  ASSERT_TRUE(t.ok());
  EXPECT_THAT(AllocateLayerSimilarity(*t, 70).status().message(), HasSubstr("layer 1: similarity S_l = -0.1"));
}

TEST(FromSummary, PublishedProfile) {
  const v1::ProfileSummary s = testing::PublishedProfile("job-p");
  auto counts = NeuronCountsFromSummary(s, v1::NEURON_CRITERION_UNSPECIFIED, {"en"}, {"el", "hu", "tr"}, 0);
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->layers.size(), 28u);
  EXPECT_EQ(counts->layers[9].at("en"), 0u);  // omitted layer
  EXPECT_EQ(AllocateNeuronGuided(*counts, 6)->experts, testing::kNeuronMoE);
  auto sim = SimilarityFromSummary(s, {"el", "hu", "tr"}, {"en", "es", "zh"}, 0);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(AllocateLayerSimilarity(*sim, 70)->experts, testing::kLayerMoE);
}

TEST(FromSummary, Errors) {
  v1::ProfileSummary s = testing::PublishedProfile("job-p");
  EXPECT_THAT(NeuronCountsFromSummary(s, v1::NEURON_CRITERION_LAPE, {"en"}, {"el"}, 0).status().message(),
              HasSubstr("has no lape neuron counts for language en"));
  EXPECT_THAT(NeuronCountsFromSummary(s, v1::NEURON_CRITERION_AP, {"en"}, {"ja"}, 0).status().message(),
              HasSubstr("no ap neuron counts for language ja"));
  EXPECT_THAT(NeuronCountsFromSummary(s, v1::NEURON_CRITERION_AP, {"en"}, {"el"}, 20).status().message(),
              HasSubstr("has layer 27 but the model has 20"));
  EXPECT_THAT(SimilarityFromSummary(s, {"el"}, {"ja"}, 0).status().message(),
              HasSubstr("layer 0 has no similarities for language ja"));
  EXPECT_THAT(SimilarityFromSummary(s, {"el"}, {"en"}, 30).status().message(),
              HasSubstr("no similarities for layer 28"));
  v1::ProfileSummary bad_total = s;
  bad_total.mutable_languages(0)->mutable_layers(0)->set_total(1);
  EXPECT_THAT(NeuronCountsFromSummary(bad_total, v1::NEURON_CRITERION_AP, {"en"}, {"el"}, 0).status().message(),
              HasSubstr("total 1 differs from the sum by component 342"));
  v1::ProfileSummary asym = s;
  asym.mutable_similarities(2)->set_similarity(3 * 6 + 0, 0.7);  // el (row 3) - en (column 0)
  EXPECT_THAT(SimilarityFromSummary(asym, {"el"}, {"en", "es"}, 0).status().message(),
              HasSubstr("layer 2: similarity of el-en is not finite or not symmetric"));
  v1::ProfileSummary empty;
  empty.set_job_id("job-e");
  EXPECT_THAT(SimilarityFromSummary(empty, {"el"}, {"en"}, 0).status().message(), HasSubstr("has no layer similarities"));
}

v1::NeuronStat Stat(const std::string& lang, uint32_t layer, v1::Component c, uint32_t index, uint32_t rank) {
  v1::NeuronStat s;
  s.set_language(lang);
  s.set_layer(layer);
  s.set_component(c);
  s.set_index(index);
  s.set_rank(rank);
  s.set_selected(rank > 0);
  return s;
}

TEST(CountSelectedNeurons, CountsComponentIndexPairs) {
  // Index 5 of q_proj and of gate_proj in layer 1 are two neurons (the authors'
  // code keyed by index alone would count one); a repeated stat counts once;
  // unselected stats do not count.
  std::vector<v1::NeuronStat> stats = {
      Stat("en", 1, v1::COMPONENT_Q_PROJ, 5, 1),   Stat("en", 1, v1::COMPONENT_GATE_PROJ, 5, 2),
      Stat("en", 1, v1::COMPONENT_GATE_PROJ, 5, 2), Stat("en", 0, v1::COMPONENT_DOWN_PROJ, 5, 3),
      Stat("en", 2, v1::COMPONENT_UP_PROJ, 9, 0),   Stat("el", 2, v1::COMPONENT_UP_PROJ, 9, 1)};
  auto counts = CountSelectedNeurons(stats, 3);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(counts->at("en"), ElementsAre(1, 2, 0));
  EXPECT_THAT(counts->at("el"), ElementsAre(0, 0, 1));
  EXPECT_THAT(CountSelectedNeurons(stats, 2).status().message(), HasSubstr("layer 2 but the model has 2"));
  stats.push_back(Stat("el", 0, v1::COMPONENT_UNSPECIFIED, 1, 4));
  EXPECT_THAT(CountSelectedNeurons(stats, 3).status().message(), HasSubstr("has no component"));
}

}  // namespace
}  // namespace nmoe::allocator
