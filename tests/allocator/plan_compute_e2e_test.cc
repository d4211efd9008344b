// The built nmoectl binary: `plan compute` on the offline files (the published
// allocations, every strategy, malformed input) and `plot plans` on plan files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/allocator/published_inputs.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace nmoe::allocator {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class PlanComputeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    counts_ = Write("counts.json", testing::NeuronCountsJson());
    similarity_ = Write("similarity.json", testing::SimilarityJson());
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name), std::ios::binary) << text;
    return dir_.file(name);
  }

  // Runs nmoectl (no coordinator is needed: --address points nowhere).
  Result Run(const std::vector<std::string>& args) {
    std::string command = Quote(nmoe::testing::BuildPath("cli/nmoectl")) + " --address 127.0.0.1:1";
    for (const auto& a : args) command += " " + Quote(a);
    command += " 2>" + Quote(dir_.file("stderr"));
    FILE* pipe = popen(command.c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ::nmoe::testing::ReadWholeFile(dir_.file("stderr"))};
  }

  nmoe::testing::TempDir dir_;
  std::string counts_, similarity_;
};

std::vector<uint32_t> Experts(const nlohmann::json& j) { return j.at("experts_per_layer").get<std::vector<uint32_t>>(); }

TEST_F(PlanComputeTest, NeuronGuidedReproducesThePaper) {
  Result r = Run({"plan", "compute", "--strategy", "neuron-guided", "--neuron-counts", counts_, "--max-experts", "6",
                  "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(Experts(j), testing::kNeuronMoE);
  EXPECT_EQ(j.at("total_experts"), 49);
  EXPECT_EQ(j.at("strategy"), "ALLOCATION_STRATEGY_NEURON_GUIDED");
  EXPECT_EQ(j.at("inputs").at("max_experts"), 6);
  EXPECT_DOUBLE_EQ(j.at("layer_scores")[0].get<double>(), 410.0);
  // The table output and the default N_max.
  r = Run({"plan", "compute", "--strategy", "neuron-guided", "--neuron-counts", counts_, "--hidden-size", "3072",
           "--intermediate-size", "8192"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Total experts:    49\n"));
  EXPECT_THAT(r.out, HasSubstr("Added parameters: 1.59G\n"));  // 21 x 3 x 3072 x 8192
  EXPECT_THAT(r.out, HasSubstr("0       6         410\n"));
}

TEST_F(PlanComputeTest, LayerSimilarityReproducesThePaper) {
  Result r = Run({"plan", "compute", "--strategy", "layer-similarity", "--similarity", similarity_, "--budget", "70",
                  "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(Experts(j), testing::kLayerMoE);
  EXPECT_EQ(j.at("total_experts"), 84);
  // A total budget caps any strategy: 84 -> 49 experts.
  r = Run({"plan", "compute", "--strategy", "layer-similarity", "--similarity", similarity_, "--total-budget", "49",
           "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("total_experts"), 49);
}

TEST_F(PlanComputeTest, UniformManualCsvAndSvg) {
  Result r = Run({"plan", "compute", "--strategy", "uniform", "--layers", "4", "--experts", "3", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Experts(nlohmann::json::parse(r.out)), (std::vector<uint32_t>{3, 3, 3, 3}));
  const std::string svg = dir_.file("manual.svg");
  r = Run({"plan", "compute", "--strategy", "manual", "--experts-per-layer", "1,2,4", "--svg", svg, "-o", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "layer,experts,score\n0,1,-\n1,2,-\n2,4,-\n");
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(svg), HasSubstr("manual: 7 experts"));
}

struct BadRun {
  std::string name;
  std::vector<std::string> args;  // after "plan compute"; $C = counts, $S = similarity, $D = the temp dir
  std::string error;
};

class PlanComputeErrors : public PlanComputeTest, public ::testing::WithParamInterface<BadRun> {};

TEST_P(PlanComputeErrors, ExitTwoWithAClearMessage) {
  Write("bad.json", R"({"high_resource": ["en"], "low_resource": ["el"], "layers": [{"en": 3}]})");
  Write("broken.json", R"({"new": ["el"], "old": ["en"], "layers": [)");
  std::vector<std::string> args = {"plan", "compute"};
  for (std::string a : GetParam().args) {
    if (a == "$C") a = counts_;
    if (a == "$S") a = similarity_;
    if (a.rfind("$D/", 0) == 0) a = dir_.file(a.substr(3));
    args.push_back(a);
  }
  const Result r = Run(args);
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr(GetParam().error));
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanComputeErrors,
    ::testing::ValuesIn(std::vector<BadRun>{
        {"NoStrategy", {"--neuron-counts", "$C"}, "--strategy is required"},
        {"UnknownStrategy", {"--strategy", "neuron"}, "unknown strategy 'neuron'"},
        {"NoCountsFile", {"--strategy", "neuron-guided"}, "needs --neuron-counts FILE"},
        {"NoSimilarityFile", {"--strategy", "layer-similarity"}, "needs --similarity FILE"},
        {"MissingFile", {"--strategy", "neuron-guided", "--neuron-counts", "$D/nope.json"}, "nope.json: cannot read"},
        {"MissingLanguageInFile", {"--strategy", "neuron-guided", "--neuron-counts", "$D/bad.json"},
         "bad.json: layers[0]: no count for 'el'"},
        {"BrokenJson", {"--strategy", "layer-similarity", "--similarity", "$D/broken.json"}, "not valid JSON"},
        {"SimilarityFileAsCounts", {"--strategy", "neuron-guided", "--neuron-counts", "$S"}, "new: unknown key"},
        {"BudgetForNeuronGuided", {"--strategy", "neuron-guided", "--neuron-counts", "$C", "--budget", "70"},
         "--budget applies only to --strategy layer-similarity"},
        {"CountsForLayerSimilarity", {"--strategy", "layer-similarity", "--similarity", "$S", "--neuron-counts", "$C"},
         "--neuron-counts applies only to --strategy neuron-guided"},
        {"MaxExpertsOne", {"--strategy", "neuron-guided", "--neuron-counts", "$C", "--max-experts", "1"},
         "--max-experts must be at least 2"},
        {"BudgetZero", {"--strategy", "layer-similarity", "--similarity", "$S", "--budget", "0"},
         "--budget must be at least 1"},
        {"TotalBudgetBelowLayers", {"--strategy", "neuron-guided", "--neuron-counts", "$C", "--total-budget", "20"},
         "total budget 20 is below the number of layers (28)"},
        {"UniformWithoutLayers", {"--strategy", "uniform", "--experts", "2"}, "needs --layers L and --experts E"},
        {"ManualBadList", {"--strategy", "manual", "--experts-per-layer", "1,x,2"}, "'x' is not a number of experts"},
        {"ManualZero", {"--strategy", "manual", "--experts-per-layer", "1,0"}, "layer 1 has 0 experts"},
        {"HiddenWithoutIntermediate",
         {"--strategy", "uniform", "--layers", "2", "--experts", "2", "--hidden-size", "8"},
         "--hidden-size and --intermediate-size go together"},
    }),
    [](const auto& info) { return info.param.name; });

TEST_F(PlanComputeTest, PlotPlansFromFiles) {
  Result a = Run({"plan", "compute", "--strategy", "neuron-guided", "--neuron-counts", counts_, "-o", "json"});
  Result b = Run({"plan", "compute", "--strategy", "layer-similarity", "--similarity", similarity_, "-o", "json"});
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  const std::string pa = Write("guided.json", a.out), pb = Write("layermoe.json", b.out);
  const std::string svg = dir_.file("plans.svg");
  Result r = Run({"plot", "plans", pa, pb, "--out", svg, "--title", "Llama-3.2-3B"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote " + svg + " (2 plans)\n");
  const std::string text = ::nmoe::testing::ReadWholeFile(svg);
  EXPECT_THAT(text, HasSubstr("neuron-guided (N_max=6): 49 experts"));
  EXPECT_THAT(text, HasSubstr("layer-similarity (B=70): 84 experts"));
  EXPECT_THAT(text, HasSubstr("Llama-3.2-3B"));
  // The same plan twice is told apart by file name; bad files are named.
  r = Run({"plot", "plans", pa, pa, "--out", svg});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(::nmoe::testing::ReadWholeFile(svg), HasSubstr("[guided.json]"));
  r = Run({"plot", "plans", counts_, "--out", svg});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("counts.json: not a plan"));
  r = Run({"plot", "plans", dir_.file("missing.json"), "--out", svg});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.json: no such plan file"));
}

}  // namespace
}  // namespace nmoe::allocator
