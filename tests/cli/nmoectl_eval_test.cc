// nmoectl eval JOB against a real in-process coordinator holding a stored evaluation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/proto_time.h"
#include "tests/cli/nmoectl_fixture.h"

namespace nmoe::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// An MoE evaluation as the evaluate job stores it: 3 layers, layer 1 with 3 experts
// (top-2), old language en.
v1::Evaluation MoeEvaluation() {
  v1::Evaluation e;
  e.set_job_id("job-eval-1");
  e.set_model_path("runs/moe");
  for (uint32_t n : {1, 3, 1}) e.add_experts_per_layer(n);
  e.set_parameters(1234567);
  const struct {
    const char* lang;
    uint64_t docs, tokens;
    double nll, unigram;
  } langs[] = {{"en", 40, 2000, 5.25, 600.5}, {"el", 35, 1900, 7.5, 9000.25}};
  for (const auto& l : langs) {
    v1::LanguageEvaluation* x = e.add_languages();
    x->set_language(l.lang);
    x->set_documents(l.docs);
    x->set_tokens(l.tokens);
    x->set_nll(l.nll);
    x->set_perplexity(std::exp(l.nll));
    x->set_unigram_perplexity(l.unigram);
  }
  v1::LayerRouting* r = e.add_routing();
  r->set_layer(1);
  r->set_num_experts(3);
  r->set_top_k(2);
  const uint64_t assignments[] = {5000, 2800, 0};
  const double en[] = {0.75, 0.25, 0}, el[] = {0.4, 0.6, 0};
  for (uint32_t x = 0; x < 3; ++x) {
    v1::ExpertRouting* er = r->add_experts();
    er->set_expert(x);
    er->set_assignments(assignments[x]);
    er->set_token_share(static_cast<double>(assignments[x]) / 7800.0);
    (*er->mutable_share_by_language())["en"] = en[x];
    (*er->mutable_share_by_language())["el"] = el[x];
  }
  r->set_old_language_expert0_share(0.75);
  r->set_dead_experts(1);
  *e.mutable_create_time() = ToProtoTime(absl::FromUnixSeconds(1790000000));
  return e;
}

TEST_F(NmoectlTest, EvalShowsPerplexityAndRouting) {
  ASSERT_TRUE(server_->results().PutEvaluation(MoeEvaluation()).ok());
  Result r = Run({"eval", "job-eval-1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Experts per layer:"));
  EXPECT_THAT(r.out, HasSubstr("1,3,1 (3 experts in MoE layers)"));
  EXPECT_THAT(r.out, HasSubstr("LANGUAGE   DOCUMENTS   TOKENS   NLL      PERPLEXITY   UNIGRAM_PPL"));
  EXPECT_THAT(r.out, HasSubstr("en         40          2000     5.2500   190.57       600.50"));
  EXPECT_THAT(r.out, HasSubstr("el         35          1900     7.5000   1808.04      9000.25"));
  EXPECT_THAT(r.out, HasSubstr("LAYER   EXPERT   ASSIGNMENTS   SHARE   SHARE_en   SHARE_el   OLD_TO_EXPERT0   DEAD_EXPERTS"));
  EXPECT_THAT(r.out, HasSubstr("1       0        5000          0.641   0.750      0.400      0.750            1"));
  EXPECT_THAT(r.out, HasSubstr("1       2        0             0.000   0.000      0.000      -"));

  r = Run({"eval", "job-eval-1", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["job_id"], "job-eval-1");
  EXPECT_EQ(j["languages"][1]["language"], "el");
  EXPECT_EQ(j["routing"][0]["old_language_expert0_share"], 0.75);
  EXPECT_EQ(j["routing"][0]["experts"][1]["assignments"], "2800");  // uint64 as a JSON string

  r = Run({"eval", "job-eval-1", "-o", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("language,documents,tokens,nll,perplexity,unigram_ppl\nen,40,2000,5.25,"));
  EXPECT_THAT(r.out, HasSubstr("\n1,0,5000,0.6410256410256411,0.75,0.4,0.75,1\n"));  // full precision

  // A dense model: no routing table.
  v1::Evaluation dense = MoeEvaluation();
  dense.set_job_id("job-eval-2");
  dense.clear_experts_per_layer();
  dense.clear_routing();
  ASSERT_TRUE(server_->results().PutEvaluation(dense).ok());
  r = Run({"eval", "job-eval-2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dense"));
  EXPECT_THAT(r.out, Not(HasSubstr("Routing")));

  // A layer with LayerMoE's sequence classifier: per-language CLASSIFIED_OLD columns.
  v1::Evaluation classified = MoeEvaluation();
  classified.set_job_id("job-eval-3");
  (*classified.mutable_routing(0)->mutable_classifier_old_share())["en"] = 0.875;
  (*classified.mutable_routing(0)->mutable_classifier_old_share())["el"] = 0.0625;
  ASSERT_TRUE(server_->results().PutEvaluation(classified).ok());
  r = Run({"eval", "job-eval-3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("DEAD_EXPERTS   CLASSIFIED_OLD_en   CLASSIFIED_OLD_el"));
  EXPECT_THAT(r.out, HasSubstr("0.750            1              0.875               0.062"));
  r = Run({"eval", "job-eval-1"});
  EXPECT_THAT(r.out, Not(HasSubstr("CLASSIFIED_OLD")));

  r = Run({"eval", "job-missing"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("job-missing"));
}

}  // namespace
}  // namespace nmoe::cli::testing
