// profiler_core: merging the states of a split sentence set equals the unsplit state;
// spilled responses score as in-memory ones; results and files of a scored profile.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "profiler/figures.h"
#include "profiler/profile_results.h"
#include "profiler/profile_state.h"
#include "profiler/response_store.h"
#include "profiler/scoring.h"
#include "common/svg.h"
#include "tests/support/temp_dir.h"

namespace nmoe::profiler {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNeurons = 37;
constexpr int32_t kLangs = 3;

struct Data {
  std::vector<int32_t> labels;
  std::vector<std::vector<float>> rows;  // [sentence][neuron]
};

Data RandomData(int sentences) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  Data d;
  for (int s = 0; s < sentences; ++s) {
    d.labels.push_back(s % kLangs);
    std::vector<float> row;
    for (int64_t u = 0; u < kNeurons; ++u) {
      const float v = normal(rng) + (u % kLangs == s % kLangs ? 0.7f : 0.0f);
      row.push_back(u % 5 == 0 ? std::round(v) : v);  // some neurons with ties
    }
    d.rows.push_back(std::move(row));
  }
  return d;
}

std::vector<std::vector<double>> Ap(const ResponseRows& rows) {
  std::vector<std::vector<double>> ap(kLangs, std::vector<double>(kNeurons, -1));
  ScoreAp(rows, kLangs, 2, &ap);
  return ap;
}

ResponseRows Rows(const Data& d, const std::vector<int>& which) {
  ResponseRows r;
  r.neuron_end = kNeurons;
  for (int s : which) {
    r.sentence_ids.push_back(s);
    r.labels.push_back(d.labels[static_cast<size_t>(s)]);
    r.values.insert(r.values.end(), d.rows[static_cast<size_t>(s)].begin(), d.rows[static_cast<size_t>(s)].end());
  }
  return r;
}

TEST(ProfileStateTest, MergedResponsesScoreAsUnsplit) {
  const Data d = RandomData(60);
  std::vector<int> all, even, odd;
  for (int s = 0; s < 60; ++s) (s % 2 ? odd : even).push_back(s), all.push_back(s);
  const auto unsplit = Ap(Rows(d, all));
  ResponseRows merged = Rows(d, odd);
  ASSERT_TRUE(merged.Merge(Rows(d, even)).ok());
  EXPECT_EQ(merged.sentence_ids.front(), 0);
  EXPECT_EQ(merged.values, Rows(d, all).values);
  EXPECT_EQ(Ap(merged), unsplit);
  // Same sentence twice, or another neuron range: refused.
  ResponseRows twice = Rows(d, odd);
  EXPECT_FALSE(twice.Merge(Rows(d, {1})).ok());
  ResponseRows other = Rows(d, even);
  other.neuron_end = 5;
  EXPECT_FALSE(merged.Merge(other).ok());
}

TEST(ProfileStateTest, CountsAndSimilarityMergeBySum) {
  LapeCounts a, b, all;
  for (LapeCounts* c : {&a, &b, &all}) c->Init(2, 3);
  a.counts = {{1, 2, 3}, {0, 0, 1}};
  a.tokens = {5, 2};
  b.counts = {{4, 0, 1}, {2, 2, 2}};
  b.tokens = {6, 3};
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.counts, (std::vector<std::vector<uint64_t>>{{5, 2, 4}, {2, 2, 3}}));
  EXPECT_EQ(a.tokens, (std::vector<uint64_t>{11, 5}));
  LapeCounts wrong;
  wrong.Init(2, 4);
  EXPECT_FALSE(a.Merge(wrong).ok());

  SimilaritySums x, y;
  x.Init(1, 2, 2);
  y.Init(1, 2, 2);
  // Language 0: unit vectors (1,0) and (0,1); language 1: (1,0).
  x.Sum(0, 0)[0] = 1;
  x.Tokens(0, 0) = 1;
  y.Sum(0, 0)[1] = 1;
  y.Tokens(0, 0) = 1;
  y.Sum(0, 1)[0] = 1;
  y.Tokens(0, 1) = 1;
  ASSERT_TRUE(x.Merge(y).ok());
  // Mean cosine over the pairs: cos((1,0),(1,0)) = 1, cos((0,1),(1,0)) = 0 -> 0.5.
  EXPECT_DOUBLE_EQ(x.Similarity(0, 0, 1), 0.5);
  EXPECT_DOUBLE_EQ(x.Similarity(0, 1, 1), 1.0);
  EXPECT_DOUBLE_EQ(x.Similarity(0, 0, 0), 0.5);
}

TEST(ResponseStoreTest, SpilledChunksScoreAsInMemory) {
  const Data d = RandomData(45);
  testing::TempDir dir;
  auto memory = ResponseStore::Create(kNeurons, 45, 1 << 20, dir.path() / "unused");
  auto spilled = ResponseStore::Create(kNeurons, 45, 45 * 4 * 8, dir.path() / "spill");  // 8 neurons a chunk
  ASSERT_TRUE(memory.ok() && spilled.ok());
  EXPECT_FALSE((*memory)->spilled());
  EXPECT_TRUE((*spilled)->spilled());
  EXPECT_EQ((*spilled)->num_chunks(), 5);
  for (int s = 0; s < 45; ++s) {
    ASSERT_TRUE((*memory)->Append(s, d.labels[static_cast<size_t>(s)], d.rows[static_cast<size_t>(s)].data()).ok());
    ASSERT_TRUE((*spilled)->Append(s, d.labels[static_cast<size_t>(s)], d.rows[static_cast<size_t>(s)].data()).ok());
  }
  auto whole = (*memory)->ReadChunk(0);
  ASSERT_TRUE(whole.ok());
  const auto expected = Ap(*whole);
  std::vector<std::vector<double>> ap(kLangs, std::vector<double>(kNeurons, -1));
  for (int64_t c = 0; c < (*spilled)->num_chunks(); ++c) {
    auto rows = (*spilled)->ReadChunk(c);
    ASSERT_TRUE(rows.ok()) << rows.status();
    ScoreAp(*rows, kLangs, 1, &ap);
  }
  EXPECT_EQ(ap, expected);
  EXPECT_TRUE(fs::exists(dir.path() / "spill" / "responses-00000.f32"));
  spilled->reset();
  EXPECT_FALSE(fs::exists(dir.path() / "spill" / "responses-00000.f32"));
}

TEST(ProfileResultsTest, SummaryAndFiles) {
  auto space = NeuronSpace::Create(2, {2, 1, 1, 2, 3, 3, 2});
  ASSERT_TRUE(space.ok());
  ProfileScores scores;
  const std::vector<std::string> langs = {"en", "el"};
  scores.ap.assign(2, std::vector<double>(static_cast<size_t>(space->size()), 0.1));
  scores.ap_selected = {{0, space->Offset(1, Proj::kGate) + 2}, {space->Offset(1, Proj::kDown)}};
  scores.similarity = {{1, 0.2, 0.2, 1}, {1, 0.5, 0.5, 1}};
  const v1::ProfileSummary summary = MakeSummary("job-1", *space, langs, scores);
  ASSERT_EQ(summary.languages_size(), 2);
  EXPECT_EQ(summary.languages(0).layers(1).by_component().at("gate_proj"), 1u);
  EXPECT_EQ(summary.languages(0).layers(0).total(), 1u);
  EXPECT_EQ(summary.languages(1).layers(1).by_component().at("down_proj"), 1u);
  ASSERT_EQ(summary.similarities_size(), 2);
  EXPECT_DOUBLE_EQ(summary.similarities(1).similarity(1), 0.5);
  testing::TempDir dir;
  ASSERT_TRUE(WriteProfileFiles(dir.path() / "out", *space, langs, scores, summary).ok());
  for (const char* f : {"summary.json", "selected_ap.csv", "counts_ap.csv", "similarity.csv",
                        "counts_by_language_ap.svg", "counts_by_component_ap.svg", "heatmap_ap.svg", "similarity.svg"}) {
    EXPECT_TRUE(fs::exists(dir.path() / "out" / f)) << f;
  }
  std::ifstream in(dir.path() / "out" / "selected_ap.csv");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "language,rank,layer,component,index,score\nen,1,0,q_proj,0,0.1\nen,2,1,gate_proj,2,0.1\n"
            "el,1,1,down_proj,0,0.1\n");
}

TEST(SvgTest, EscapesAndCloses) {
  svg::Document svg(10, 10);
  svg.Text(1, 2, "a<b & \"c\"");
  const std::string doc = svg.Finish();
  EXPECT_NE(doc.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(doc.substr(doc.size() - 7), "</svg>\n");
  const std::string chart = StackedBars({"t", "x", "y"}, {"0", "1"}, {{"q_proj", {1, 0}}, {"k_proj", {2, 3}}});
  // One bar segment per non-zero value.
  size_t rects = 0;
  for (size_t p = chart.find("<rect"); p != std::string::npos; p = chart.find("<rect", p + 1)) ++rects;
  EXPECT_EQ(rects, 1 /*background*/ + 3 /*bars*/ + 2 /*legend*/);
}

}  // namespace
}  // namespace nmoe::profiler
