#include "cli/job_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/job_validation.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kProfileYaml[] = R"(
name: "2024"          # a string field keeps number-like text
labels:
  team: nlp
  batch: 7
resources:
  num_workers: 2
  device: DEVICE_KIND_CPU
maxRestarts: 1        # JSON names work too
profile:
  model: {path: models/base}
  corpora:
    - {language: en, paths: [data/corpus/en/train.txt]}
    - language: el
      paths:
        - data/corpus/el/train.txt
  criteria: [NEURON_CRITERION_AP, NEURON_CRITERION_LAPE]
  components: [COMPONENT_Q_PROJ, 6]
  top_n: 1000
  lape_top_fraction: 0.01
  layer_similarity: true
  similarity_tokens_per_language: 100000
)";

absl::StatusOr<nmoe::v1::JobSpec> Yaml(const std::string& text) {
  return ParseJobSpec(text, JobFileFormat::kYaml, "job.yaml");
}
absl::StatusOr<nmoe::v1::JobSpec> Json(const std::string& text) {
  return ParseJobSpec(text, JobFileFormat::kJson, "job.json");
}

TEST(JobFileTest, ParsesYamlWithFieldTypesFromTheSchema) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml(kProfileYaml);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name(), "2024");
  EXPECT_EQ(spec->labels().at("batch"), "7");
  EXPECT_EQ(spec->resources().num_workers(), 2u);
  EXPECT_EQ(spec->resources().device(), nmoe::v1::DEVICE_KIND_CPU);
  ASSERT_TRUE(spec->has_max_restarts());
  EXPECT_EQ(spec->max_restarts(), 1u);
  ASSERT_TRUE(spec->has_profile());
  const nmoe::v1::ProfileSpec& p = spec->profile();
  EXPECT_EQ(p.model().path(), "models/base");
  ASSERT_EQ(p.corpora_size(), 2);
  EXPECT_EQ(p.corpora(1).language(), "el");
  EXPECT_EQ(p.corpora(1).paths(0), "data/corpus/el/train.txt");
  EXPECT_EQ(p.criteria_size(), 2);
  EXPECT_EQ(p.components(1), nmoe::v1::COMPONENT_UP_PROJ);  // by number
  EXPECT_EQ(p.top_n(), 1000u);
  EXPECT_DOUBLE_EQ(p.lape_top_fraction(), 0.01);
  EXPECT_TRUE(p.layer_similarity());
  EXPECT_EQ(p.similarity_tokens_per_language(), 100000u);
}

TEST(JobFileTest, ParsesJson) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Json(R"({
    "name": "alloc", "allocate": {"profile_job_id": "job-1",
    "strategy": "ALLOCATION_STRATEGY_NEURON_GUIDED", "oldLanguages": ["en"], "max_experts": 6}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->allocate().strategy(), nmoe::v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  EXPECT_EQ(spec->allocate().old_languages(0), "en");
  EXPECT_EQ(spec->allocate().max_experts(), 6u);
}

TEST(JobFileTest, YamlUnknownFieldNamesFileLinePathAndType) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("name: x\nprofile:\n  top_n: 5\n  top_nn: 7\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.status().message(),
            "job.yaml:4:3: profile.top_nn: unknown field of nmoe.v1.ProfileSpec");
}

// Found by fuzz/job_file_fuzzer.cc: yaml-cpp passes invalid UTF-8 through and the JSON
// conversion threw (nmoectl terminated); now a precise error.
TEST(JobFileTest, YamlInvalidUtf8IsAnError) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("name: ab\xff\xfe\nprofile:\n  top_n: 5\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.status().message(), "job.yaml: invalid job spec: text is not valid UTF-8");
  // Invalid bytes in a comment are not part of the spec.
  EXPECT_TRUE(Yaml("# \xff\nname: ab\n").ok());
}

TEST(JobFileTest, YamlTypeErrors) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("profile:\n  top_n: many\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "job.yaml:2:10: profile.top_n: expected a non-negative integer, got \"many\"");
  spec = Yaml("profile:\n  corpora: {language: en}\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("profile.corpora: expected a list, got a mapping"));
  spec = Yaml("profile:\n  layer_similarity: yes\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("expected true or false"));
  spec = Yaml("profile:\n  lape_top_fraction: [1]\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("expected a single value, got a list"));
  spec = Yaml("- just\n- a list\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("expected a mapping for nmoe.v1.JobSpec"));
}

TEST(JobFileTest, YamlOneofConflictAndDuplicates) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("profile: {top_n: 1}\ntrain: {top_k: 2}\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("\"profile\" and \"train\" are both members of oneof \"kind\""));
  spec = Yaml("profile:\n  top_n: 1\n  topN: 2\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("field \"top_n\" given twice"));
}

TEST(JobFileTest, YamlSyntaxAndEmptyFile) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("profile: [unclosed\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), StartsWith("job.yaml:"));
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("invalid YAML"));
  spec = Yaml("# nothing\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), "job.yaml: the file holds no job spec");
}

TEST(JobFileTest, BadEnumNameIsReportedByTheProtobufParser) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Yaml("resources: {device: gpu}\nprofile: {}\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), StartsWith("job.yaml: invalid job spec: "));
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("resources.device"));
}

TEST(JobFileTest, JsonErrors) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = Json("{\"name\": \"x\", \"nmae\": 1}");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), StartsWith("job.json: invalid job spec: "));
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("nmae"));
  spec = Json("{\"name\": \"x\",,}");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              StartsWith("job.json: invalid JSON: parse error at line 1"));
  spec = Json("[1, 2]");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), "job.json: a job spec must be a JSON object");
}

TEST(JobFileTest, DetectsFormat) {
  EXPECT_EQ(DetectJobFileFormat("a.json", "name: x"), JobFileFormat::kJson);
  EXPECT_EQ(DetectJobFileFormat("a.YML", "{}"), JobFileFormat::kYaml);
  EXPECT_EQ(DetectJobFileFormat("-", "  \n{\"name\": 1}"), JobFileFormat::kJson);
  EXPECT_EQ(DetectJobFileFormat("job", "name: x"), JobFileFormat::kYaml);
}

TEST(JobFileTest, MissingFileIsNotFoundAndNamed) {
  absl::StatusOr<nmoe::v1::JobSpec> spec = ReadJobFile("/nonexistent/job.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(spec.status().message()),
              StartsWith("/nonexistent/job.yaml: cannot open job file"));
}

TEST(SpecOverridesTest, ReplaceNameWorkersAndMergeLabels) {
  nmoe::v1::JobSpec spec = *Yaml(kProfileYaml);
  SpecOverrides o;
  o.name = "renamed";
  o.workers = 4;
  o.labels = {"team=mt", "new=a=b", "empty="};
  ASSERT_TRUE(ApplySpecOverrides(o, &spec).ok());
  EXPECT_EQ(spec.name(), "renamed");
  EXPECT_EQ(spec.resources().num_workers(), 4u);
  EXPECT_EQ(spec.labels().at("team"), "mt");
  EXPECT_EQ(spec.labels().at("new"), "a=b");
  EXPECT_EQ(spec.labels().at("empty"), "");
  EXPECT_EQ(spec.labels().at("batch"), "7");
  o = SpecOverrides();
  o.labels = {"novalue"};
  EXPECT_FALSE(ApplySpecOverrides(o, &spec).ok());
  o.labels = {"=x"};
  EXPECT_FALSE(ApplySpecOverrides(o, &spec).ok());
}

// Every example job file in the source tree parses, sets a kind and passes the
// validation the coordinator and nmoe-run apply to a submitted spec.
TEST(ExampleJobsTest, AllExamplesParse) {
  const char* source_dir = std::getenv("NMOE_SOURCE_DIR");
  ASSERT_NE(source_dir, nullptr) << "run through ctest (it sets NMOE_SOURCE_DIR)";
  const std::filesystem::path dir = std::filesystem::path(source_dir) / "examples" / "jobs";
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    absl::StatusOr<nmoe::v1::JobSpec> spec = ReadJobFile(entry.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_NE(spec->kind_case(), nmoe::v1::JobSpec::KIND_NOT_SET) << entry.path();
    EXPECT_FALSE(spec->name().empty()) << entry.path();
    const absl::Status valid = ValidateJobSpec(*spec);
    EXPECT_TRUE(valid.ok()) << entry.path() << ": " << valid;
    ++parsed;
  }
  EXPECT_GE(parsed, 3);
}

}  // namespace
}  // namespace nmoe::cli
