#include "storage/results_store.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/test_stores.h"

namespace nmoe::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Backends;
using testing::BackendName;

const absl::Time kT0 = absl::FromUnixMillis(1'700'000'000'000);

// ---- plans ------------------------------------------------------------------

v1::Plan MakePlan(const std::string& id, const std::string& job_id) {
  v1::Plan plan;
  plan.set_id(id);
  plan.set_job_id(job_id);
  plan.set_profile_job_id("job-profile");
  plan.set_strategy(v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  plan.mutable_inputs()->set_max_experts(6);
  plan.mutable_inputs()->add_new_languages("el");
  for (uint32_t n : {1u, 2u, 4u, 1u}) plan.add_experts_per_layer(n);
  plan.set_total_experts(6);
  plan.set_added_parameters(123'456'789'012ull);
  plan.add_layer_scores(0.25);
  plan.add_layer_scores(-1.5);
  plan.mutable_create_time()->set_seconds(1'700'000'000);
  return plan;
}

std::vector<std::string> Ids(const std::vector<v1::Plan>& plans) {
  std::vector<std::string> ids;
  for (const auto& p : plans) ids.push_back(p.id());
  return ids;
}

template <typename Backend>
class ResultsStoreTest : public testing::StoreTest<Backend> {
 protected:
  void SetUp() override {
    testing::StoreTest<Backend>::SetUp();
    results_ = std::make_unique<ResultsStore>(&this->kv());
  }

  // Seven plans, ids from increasing times: job-a gets 0, 2, 4, 6; job-b 1, 3, 5.
  // Written in a shuffled order. Returns the ids oldest first.
  std::vector<std::string> PutSevenPlans() {
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) ids.push_back(NewId("plan", kT0 + absl::Milliseconds(1 + 40 * i)));
    std::vector<int> order = {3, 0, 6, 1, 5, 2, 4};
    for (int i : order) {
      EXPECT_TRUE(results_->PutPlan(MakePlan(ids[i], i % 2 == 0 ? "job-a" : "job-b")).ok());
    }
    return ids;
  }

  // Follows page tokens to the end; fails the test on an error or a loop.
  std::vector<std::string> AllPages(const std::string& job_id, size_t page_size, size_t* pages) {
    std::vector<std::string> ids;
    std::string token;
    *pages = 0;
    do {
      auto page = results_->ListPlans(job_id, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->items.size(), page_size);
      if (!page->next_page_token.empty()) {
        EXPECT_EQ(page->items.size(), page_size);
      }
      for (const auto& p : page->items) ids.push_back(p.id());
      token = page->next_page_token;
      ++*pages;
    } while (!token.empty() && *pages < 100);
    return ids;
  }

  std::unique_ptr<ResultsStore> results_;
};
TYPED_TEST_SUITE(ResultsStoreTest, Backends, BackendName);

TYPED_TEST(ResultsStoreTest, PlanRoundTrip) {
  const v1::Plan plan = MakePlan(NewId("plan", kT0), "job-a");
  ASSERT_TRUE(this->results_->PutPlan(plan).ok());
  auto got = this->results_->GetPlan(plan.id());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->SerializeAsString(), plan.SerializeAsString());
  EXPECT_THAT((*got)->experts_per_layer(), ElementsAre(1u, 2u, 4u, 1u));

  auto missing = this->results_->GetPlan(NewId("plan", kT0));
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(ResultsStoreTest, ListPlansIsNewestFirst) {
  const auto ids = this->PutSevenPlans();
  auto page = this->results_->ListPlans("", 100, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->items), ElementsAre(ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]));
  EXPECT_EQ(page->next_page_token, "");
  // Plans come back whole.
  EXPECT_EQ(page->items[0].SerializeAsString(), MakePlan(ids[6], "job-a").SerializeAsString());
}

TYPED_TEST(ResultsStoreTest, ListPlansFiltersByJob) {
  const auto ids = this->PutSevenPlans();
  auto a = this->results_->ListPlans("job-a", 100, "");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(Ids(a->items), ElementsAre(ids[6], ids[4], ids[2], ids[0]));
  for (const auto& p : a->items) EXPECT_EQ(p.job_id(), "job-a");
  auto b = this->results_->ListPlans("job-b", 100, "");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(Ids(b->items), ElementsAre(ids[5], ids[3], ids[1]));
  auto none = this->results_->ListPlans("job-c", 100, "");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(none->items, IsEmpty());
  EXPECT_EQ(none->next_page_token, "");
  // "job-" is a prefix of both job ids: it matches neither.
  auto prefix = this->results_->ListPlans("job-", 100, "");
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  EXPECT_THAT(prefix->items, IsEmpty());
}

TYPED_TEST(ResultsStoreTest, RewritingAPlanDoesNotDuplicateIt) {
  const std::string id = NewId("plan", kT0);
  ASSERT_TRUE(this->results_->PutPlan(MakePlan(id, "job-a")).ok());
  v1::Plan changed = MakePlan(id, "job-a");
  changed.set_total_experts(9);
  ASSERT_TRUE(this->results_->PutPlan(changed).ok());
  auto page = this->results_->ListPlans("", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].total_experts(), 9u);
}

TYPED_TEST(ResultsStoreTest, PagesCoverEveryPlanExactlyOnce) {
  const auto ids = this->PutSevenPlans();
  const std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  for (size_t page_size : {1u, 2u, 3u, 6u, 7u, 8u}) {
    size_t pages = 0;
    EXPECT_EQ(this->AllPages("", page_size, &pages), newest_first) << "page_size " << page_size;
    EXPECT_EQ(pages, std::max<size_t>(1, (ids.size() + page_size - 1) / page_size)) << "page_size " << page_size;
  }
  for (size_t page_size : {1u, 3u, 4u}) {
    size_t pages = 0;
    EXPECT_THAT(this->AllPages("job-a", page_size, &pages), ElementsAre(ids[6], ids[4], ids[2], ids[0]))
        << "page_size " << page_size;
    EXPECT_EQ(pages, (4 + page_size - 1) / page_size);
  }
}

TYPED_TEST(ResultsStoreTest, FirstPageAndItsToken) {
  const auto ids = this->PutSevenPlans();
  auto first = this->results_->ListPlans("job-b", 2, "");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Ids(first->items), ElementsAre(ids[5], ids[3]));
  ASSERT_FALSE(first->next_page_token.empty());
  // A plan newer than the page does not disturb the next page.
  ASSERT_TRUE(this->results_->PutPlan(MakePlan(NewId("plan", kT0 + absl::Hours(1)), "job-b")).ok());
  auto second = this->results_->ListPlans("job-b", 2, first->next_page_token);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Ids(second->items), ElementsAre(ids[1]));
  EXPECT_EQ(second->next_page_token, "");
}

TYPED_TEST(ResultsStoreTest, BadPlanTokensAreInvalidArgument) {
  this->PutSevenPlans();
  auto all = this->results_->ListPlans("", 2, "");
  auto of_a = this->results_->ListPlans("job-a", 2, "");
  ASSERT_TRUE(all.ok() && of_a.ok());
  ASSERT_FALSE(all->next_page_token.empty());
  ASSERT_FALSE(of_a->next_page_token.empty());
  struct Case {
    std::string job_id;
    std::string token;
  };
  const std::vector<Case> cases = {
      {"", "not-hex"},
      {"", "abc"},                                  // odd length
      {"", "zz"},
      {"", absl::BytesToHexString("q/anything")},   // outside the plan range
      {"", absl::BytesToHexString("p")},            // just below the range
      {"", of_a->next_page_token},                  // another query's token
      {"job-b", of_a->next_page_token},
      {"job-a", all->next_page_token},
  };
  for (const auto& c : cases) {
    auto page = this->results_->ListPlans(c.job_id, 2, c.token);
    ASSERT_FALSE(page.ok()) << "job '" << c.job_id << "' token '" << c.token << "'";
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument) << page.status();
    EXPECT_THAT(page.status().message(), HasSubstr("page_token"));
  }
  // The right tokens still work.
  EXPECT_TRUE(this->results_->ListPlans("", 2, all->next_page_token).ok());
  EXPECT_TRUE(this->results_->ListPlans("job-a", 2, of_a->next_page_token).ok());
}

// ---- neurons ----------------------------------------------------------------

v1::NeuronStat MakeStat(const std::string& job, v1::NeuronCriterion criterion, const std::string& lang,
                        uint32_t layer, v1::Component component, uint32_t index) {
  v1::NeuronStat s;
  s.set_job_id(job);
  s.set_criterion(criterion);
  s.set_language(lang);
  s.set_layer(layer);
  s.set_component(component);
  s.set_index(index);
  s.set_score(layer * 100 + component * 10 + index + 0.5);
  return s;
}

using StatId = std::tuple<std::string, uint32_t, int, uint32_t>;  // language, layer, component, index

StatId IdOf(const v1::NeuronStat& s) { return {s.language(), s.layer(), s.component(), s.index()}; }

std::vector<StatId> IdsOf(const std::vector<v1::NeuronStat>& stats) {
  std::vector<StatId> ids;
  for (const auto& s : stats) ids.push_back(IdOf(s));
  return ids;
}

std::vector<uint32_t> Ranks(const std::vector<v1::NeuronStat>& stats) {
  std::vector<uint32_t> ranks;
  for (const auto& s : stats) ranks.push_back(s.rank());
  return ranks;
}

template <typename Backend>
class NeuronQueryTest : public ResultsStoreTest<Backend> {
 protected:
  // Layers 0, 1, 2 and 256; two components; indices 0..3: 32 stats per profile.
  static constexpr uint32_t kIndices = 4;
  static constexpr v1::Component kComponents[] = {v1::COMPONENT_Q_PROJ, v1::COMPONENT_GATE_PROJ};

  void SetUp() override {
    ResultsStoreTest<Backend>::SetUp();
    // The profile under test: job-p, AP, "el". Other jobs, criteria and
    // languages hold look-alike data that must never leak into its answers.
    for (const auto& [job, crit, lang] :
         std::vector<std::tuple<std::string, v1::NeuronCriterion, std::string>>{
             {"job-p", v1::NEURON_CRITERION_AP, "el"},
             {"job-p", v1::NEURON_CRITERION_AP, "en"},
             {"job-p", v1::NEURON_CRITERION_AP, "el-GR"},
             {"job-p", v1::NEURON_CRITERION_LAPE, "el"},
             {"job-q", v1::NEURON_CRITERION_AP, "el"}}) {
      std::vector<v1::NeuronStat> batch;
      for (uint32_t layer : {0u, 1u, 2u, 256u}) {
        for (v1::Component c : kComponents) {
          for (uint32_t i = 0; i < kIndices; ++i) batch.push_back(MakeStat(job, crit, lang, layer, c, i));
        }
      }
      // Selected: seven neurons with ranks 1..7 assigned out of key order.
      const std::vector<std::pair<size_t, uint32_t>> selection = {{9, 1}, {2, 2}, {30, 3}, {17, 4}, {0, 5},
                                                                  {12, 6}, {25, 7}};
      for (const auto& [pos, rank] : selection) {
        batch[pos].set_selected(true);
        batch[pos].set_rank(rank);
      }
      // Selected with rank 0 is not indexed by rank.
      batch[5].set_selected(true);
      if (job == "job-p" && crit == v1::NEURON_CRITERION_AP && lang == "el") all_ = batch;
      std::shuffle(batch.begin(), batch.end(), std::mt19937(42));
      EXPECT_TRUE(this->results_->PutNeuronStats(batch).ok());
    }
  }

  v1::QueryNeuronsRequest Request() const {
    v1::QueryNeuronsRequest r;
    r.set_job_id("job-p");
    r.set_criterion(v1::NEURON_CRITERION_AP);
    r.set_language("el");
    return r;
  }

  // The expected answer, computed from `all_` without the store.
  std::vector<v1::NeuronStat> Expected(const v1::QueryNeuronsRequest& r) const {
    std::vector<v1::NeuronStat> out;
    for (const auto& s : all_) {
      if (r.has_layer() && s.layer() != r.layer()) continue;
      if (r.component() != v1::COMPONENT_UNSPECIFIED && s.component() != r.component()) continue;
      if (r.selected_only() && (!s.selected() || s.rank() == 0)) continue;
      if (r.selected_only() && r.top_n() > 0 && s.rank() > r.top_n()) continue;
      out.push_back(s);
    }
    if (r.selected_only()) {
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.rank() < b.rank(); });
    } else {
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return std::make_tuple(a.layer(), int(a.component()), a.index()) <
               std::make_tuple(b.layer(), int(b.component()), b.index());
      });
    }
    return out;
  }

  std::vector<v1::NeuronStat> Query(const v1::QueryNeuronsRequest& r, size_t page_size = 10'000) {
    auto page = this->results_->QueryNeurons(r, page_size);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return {};
    EXPECT_EQ(page->next_page_token, "");
    return page->items;
  }

  // Every page of the query, following tokens; checks page sizes on the way.
  std::vector<v1::NeuronStat> AllPages(v1::QueryNeuronsRequest r, size_t page_size, size_t* pages) {
    std::vector<v1::NeuronStat> items;
    *pages = 0;
    do {
      auto page = this->results_->QueryNeurons(r, page_size);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->items.size(), page_size);
      if (!page->next_page_token.empty()) {
        EXPECT_EQ(page->items.size(), page_size);
      }
      items.insert(items.end(), page->items.begin(), page->items.end());
      r.set_page_token(page->next_page_token);
      ++*pages;
    } while (!r.page_token().empty() && *pages < 1000);
    return items;
  }

  std::vector<v1::NeuronStat> all_;
};
TYPED_TEST_SUITE(NeuronQueryTest, Backends, BackendName);

TYPED_TEST(NeuronQueryTest, AllStatsOfOneLanguageInLayerComponentIndexOrder) {
  const auto r = this->Request();
  const auto got = this->Query(r);
  ASSERT_EQ(got.size(), 4u * 2u * 4u);
  EXPECT_EQ(IdsOf(got), IdsOf(this->Expected(r)));
  for (const auto& s : got) {
    EXPECT_EQ(s.job_id(), "job-p");
    EXPECT_EQ(s.criterion(), v1::NEURON_CRITERION_AP);
    EXPECT_EQ(s.language(), "el");
    EXPECT_DOUBLE_EQ(s.score(), s.layer() * 100 + s.component() * 10 + s.index() + 0.5);
  }
  // Layer 256 (a second byte in the big-endian layer) comes last.
  EXPECT_EQ(got.back().layer(), 256u);
}

TYPED_TEST(NeuronQueryTest, UnspecifiedCriterionMeansAp) {
  auto r = this->Request();
  r.set_criterion(v1::NEURON_CRITERION_UNSPECIFIED);
  EXPECT_EQ(IdsOf(this->Query(r)), IdsOf(this->Expected(this->Request())));
  r.set_criterion(v1::NEURON_CRITERION_LAPE);
  const auto lape = this->Query(r);
  ASSERT_EQ(lape.size(), 32u);
  for (const auto& s : lape) EXPECT_EQ(s.criterion(), v1::NEURON_CRITERION_LAPE);
}

TYPED_TEST(NeuronQueryTest, FiltersByLayer) {
  for (uint32_t layer : {0u, 1u, 2u, 256u}) {
    auto r = this->Request();
    r.set_layer(layer);
    const auto got = this->Query(r);
    ASSERT_EQ(got.size(), 8u) << layer;
    for (const auto& s : got) EXPECT_EQ(s.layer(), layer);
    EXPECT_EQ(IdsOf(got), IdsOf(this->Expected(r))) << layer;
  }
  auto r = this->Request();
  r.set_layer(7);
  EXPECT_THAT(this->Query(r), IsEmpty());
}

TYPED_TEST(NeuronQueryTest, FiltersByComponentAndLayer) {
  auto r = this->Request();
  r.set_component(v1::COMPONENT_GATE_PROJ);
  auto got = this->Query(r);
  ASSERT_EQ(got.size(), 16u);
  for (const auto& s : got) EXPECT_EQ(s.component(), v1::COMPONENT_GATE_PROJ);
  EXPECT_EQ(IdsOf(got), IdsOf(this->Expected(r)));

  r.set_layer(1);
  got = this->Query(r);
  EXPECT_THAT(IdsOf(got), ElementsAre(StatId{"el", 1, v1::COMPONENT_GATE_PROJ, 0},
                                      StatId{"el", 1, v1::COMPONENT_GATE_PROJ, 1},
                                      StatId{"el", 1, v1::COMPONENT_GATE_PROJ, 2},
                                      StatId{"el", 1, v1::COMPONENT_GATE_PROJ, 3}));
  r.set_component(v1::COMPONENT_DOWN_PROJ);
  EXPECT_THAT(this->Query(r), IsEmpty());
}

TYPED_TEST(NeuronQueryTest, SelectedOnlyIsOrderedByRank) {
  auto r = this->Request();
  r.set_selected_only(true);
  const auto got = this->Query(r);
  EXPECT_THAT(Ranks(got), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u));
  EXPECT_EQ(IdsOf(got), IdsOf(this->Expected(r)));
  for (const auto& s : got) EXPECT_TRUE(s.selected());
}

TYPED_TEST(NeuronQueryTest, TopNCutsTheRanking) {
  auto r = this->Request();
  r.set_selected_only(true);
  r.set_top_n(3);
  EXPECT_THAT(Ranks(this->Query(r)), ElementsAre(1u, 2u, 3u));
  r.set_top_n(1);
  EXPECT_THAT(Ranks(this->Query(r)), ElementsAre(1u));
  r.set_top_n(100);
  EXPECT_THAT(Ranks(this->Query(r)), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u));
}

TYPED_TEST(NeuronQueryTest, SelectedOnlyWithLayerAndComponentFilters) {
  auto r = this->Request();
  r.set_selected_only(true);
  r.set_layer(0);  // a present zero is a filter, not "all layers"
  const auto layer0 = this->Query(r);
  EXPECT_EQ(IdsOf(layer0), IdsOf(this->Expected(r)));
  ASSERT_FALSE(layer0.empty());
  for (const auto& s : layer0) EXPECT_EQ(s.layer(), 0u);
  EXPECT_LT(layer0.size(), 7u);

  r.clear_layer();
  r.set_component(v1::COMPONENT_Q_PROJ);
  const auto q = this->Query(r);
  EXPECT_EQ(IdsOf(q), IdsOf(this->Expected(r)));
  for (const auto& s : q) EXPECT_EQ(s.component(), v1::COMPONENT_Q_PROJ);
  // top_n counts ranks, before the filters.
  r.set_top_n(4);
  EXPECT_EQ(IdsOf(this->Query(r)), IdsOf(this->Expected(r)));
}

TYPED_TEST(NeuronQueryTest, UnknownLanguageOrJobIsEmpty) {
  auto r = this->Request();
  r.set_language("e");  // a prefix of "el" and "en"
  EXPECT_THAT(this->Query(r), IsEmpty());
  r = this->Request();
  r.set_job_id("job-");
  EXPECT_THAT(this->Query(r), IsEmpty());
}

TYPED_TEST(NeuronQueryTest, PagesCoverEveryMatchExactlyOnce) {
  std::vector<v1::QueryNeuronsRequest> requests;
  requests.push_back(this->Request());
  {
    auto r = this->Request();
    r.set_component(v1::COMPONENT_GATE_PROJ);  // filtered inside the scan
    requests.push_back(r);
    r.set_layer(2);
    requests.push_back(r);
  }
  {
    auto r = this->Request();
    r.set_selected_only(true);
    requests.push_back(r);
    r.set_top_n(5);
    requests.push_back(r);
    r.set_component(v1::COMPONENT_GATE_PROJ);
    requests.push_back(r);
  }
  for (const auto& r : requests) {
    const auto expected = IdsOf(this->Expected(r));
    ASSERT_FALSE(expected.empty()) << r.ShortDebugString();
    for (size_t page_size : {1u, 2u, 3u, 5u, 32u, 33u}) {
      size_t pages = 0;
      const auto got = this->AllPages(r, page_size, &pages);
      EXPECT_EQ(IdsOf(got), expected) << r.ShortDebugString() << " page_size " << page_size;
      std::set<StatId> unique(expected.begin(), expected.end());
      EXPECT_EQ(unique.size(), expected.size());
      EXPECT_EQ(pages, (expected.size() + page_size - 1) / page_size) << r.ShortDebugString();
    }
  }
}

TYPED_TEST(NeuronQueryTest, TokensOfAnotherQueryAreRejected) {
  auto first_page_token = [&](const v1::QueryNeuronsRequest& r, size_t page_size) {
    auto page = this->results_->QueryNeurons(r, page_size);
    EXPECT_TRUE(page.ok()) << page.status();
    EXPECT_FALSE(page.ok() && page->next_page_token.empty()) << r.ShortDebugString();
    return page.ok() ? page->next_page_token : std::string();
  };
  const auto base = this->Request();
  auto en = base;
  en.set_language("en");
  auto other_job = base;
  other_job.set_job_id("job-q");
  auto lape = base;
  lape.set_criterion(v1::NEURON_CRITERION_LAPE);
  auto layer1 = base;
  layer1.set_layer(1);
  auto layer2 = base;
  layer2.set_layer(2);
  auto selected = base;
  selected.set_selected_only(true);
  auto top2 = selected;
  top2.set_top_n(2);
  auto top6 = selected;
  top6.set_top_n(6);

  struct Case {
    v1::QueryNeuronsRequest request;
    std::string token;
    std::string what;
  };
  const std::vector<Case> cases = {
      {base, first_page_token(en, 3), "other language"},
      {en, first_page_token(base, 3), "other language, reverse"},
      {base, first_page_token(other_job, 3), "other job"},
      {base, first_page_token(lape, 3), "other criterion"},
      {layer2, first_page_token(layer1, 3), "other layer"},
      {base, first_page_token(selected, 3), "selected vs all"},
      {selected, first_page_token(base, 3), "all vs selected"},
      {top2, first_page_token(top6, 3), "rank beyond top_n"},
      {base, "zz", "not hex"},
      {base, "abc", "odd length"},
      {base, absl::BytesToHexString("p/plan"), "a plan token"},
  };
  for (auto c : cases) {
    ASSERT_FALSE(c.token.empty()) << c.what;
    c.request.set_page_token(c.token);
    auto page = this->results_->QueryNeurons(c.request, 3);
    ASSERT_FALSE(page.ok()) << c.what;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << page.status();
    EXPECT_THAT(page.status().message(), HasSubstr("page_token")) << c.what;
  }
  // A layer-less query accepts a layer's token (it lies in its range) and resumes there.
  auto resumed = base;
  resumed.set_page_token(first_page_token(layer1, 3));
  auto page = this->results_->QueryNeurons(resumed, 1);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(IdOf(page->items[0]), (StatId{"el", 1, v1::COMPONENT_Q_PROJ, 3}));
}

TYPED_TEST(NeuronQueryTest, CorruptStatIsDataLoss) {
  // Overwrite one stored stat of the profile under test with garbage, found by scanning.
  std::string victim;
  ASSERT_TRUE(this->kv().Scan(Table::kNeurons, {}, [&](std::string_view key, std::string_view value) {
    v1::NeuronStat s;
    if (key.substr(0, 2) == "s/" && s.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
        s.job_id() == "job-p" && s.language() == "el" && s.criterion() == v1::NEURON_CRITERION_AP && s.layer() == 1) {
      victim = std::string(key);
      return false;
    }
    return true;
  }).ok());
  ASSERT_FALSE(victim.empty());
  WriteBatch batch;
  batch.Put(Table::kNeurons, victim, std::string("\x0a\xff", 2));
  ASSERT_TRUE(this->kv().Write(batch, true).ok());
  auto page = this->results_->QueryNeurons(this->Request(), 1000);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(page.status().message(), HasSubstr("neurons"));
}

// ---- profile summaries ------------------------------------------------------

TYPED_TEST(ResultsStoreTest, ProfileSummaryRoundTrip) {
  auto missing = this->results_->GetProfileSummary("job-p");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  v1::ProfileSummary summary;
  summary.set_job_id("job-p");
  auto* lang = summary.add_languages();
  lang->set_language("el");
  lang->set_criterion(v1::NEURON_CRITERION_LAPE);
  auto* layer = lang->add_layers();
  layer->set_layer(3);
  (*layer->mutable_by_component())["q_proj"] = 12;
  (*layer->mutable_by_component())["down_proj"] = 7;
  layer->set_total(19);
  auto* sim = summary.add_similarities();
  sim->set_layer(3);
  sim->add_languages("en");
  sim->add_languages("el");
  for (double v : {1.0, 0.25, 0.25, 1.0}) sim->add_similarity(v);
  ASSERT_TRUE(this->results_->PutProfileSummary(summary).ok());

  v1::ProfileSummary other;
  other.set_job_id("job-q");
  ASSERT_TRUE(this->results_->PutProfileSummary(other).ok());

  auto got = this->results_->GetProfileSummary("job-p");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->languages_size(), 1);
  EXPECT_EQ((*got)->languages(0).layers(0).by_component().at("q_proj"), 12u);
  EXPECT_THAT((*got)->similarities(0).similarity(), ElementsAre(1.0, 0.25, 0.25, 1.0));
  EXPECT_EQ((*got)->ShortDebugString(), summary.ShortDebugString());

  // Overwrite.
  summary.clear_similarities();
  ASSERT_TRUE(this->results_->PutProfileSummary(summary).ok());
  got = this->results_->GetProfileSummary("job-p");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->similarities_size(), 0);
  // Summaries do not appear among neuron stats.
  v1::QueryNeuronsRequest r;
  r.set_job_id("job-p");
  r.set_language("el");
  auto page = this->results_->QueryNeurons(r, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(page->items, IsEmpty());
}

}  // namespace
}  // namespace nmoe::storage
