#include "cli/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/json_to_yaml.h"
#include "nmoe/v1/job.pb.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;

TEST(OutputFormatTest, ParsesNames) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("JSON"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("yaml"), OutputFormat::kYaml);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_FALSE(ParseOutputFormat("xml").ok());
}

TEST(TableTest, AlignsColumnsWithoutTrailingSpaces) {
  Table table{{"ID", "STATE", "NAME"},
              {{"job-1", "running", "short"}, {"job-100000", "pending", ""}, {"j", "failed", "x"}}};
  EXPECT_EQ(RenderTable(table),
            "ID           STATE     NAME\n"
            "job-1        running   short\n"
            "job-100000   pending\n"
            "j            failed    x\n");
}

TEST(TableTest, CountsUtf8CodePointsAndPadsMissingCells) {
  Table table{{"LANG", "NAME"}, {{"Ελληνικά", "el"}, {"en"}}};
  EXPECT_EQ(RenderTable(table),
            "LANG       NAME\n"
            "Ελληνικά   el\n"
            "en\n");
}

TEST(TableTest, HeaderOnlyWhenEmpty) {
  EXPECT_EQ(RenderTable(Table{{"ID", "STATE"}, {}}), "ID   STATE\n");
}

TEST(CsvTest, QuotesOnlyWhenNeeded) {
  Table table{{"LAYER", "SCORE", "NOTE"},
              {{"0", "0.5", "plain"}, {"1", "0.25", "a,b"}, {"2", "1", "say \"hi\"\nbye"}}};
  EXPECT_EQ(RenderCsv(table),
            "layer,score,note\n"
            "0,0.5,plain\n"
            "1,0.25,\"a,b\"\n"
            "2,1,\"say \"\"hi\"\"\nbye\"\n");
}

TEST(KeyValuesTest, AlignsValues) {
  EXPECT_EQ(RenderKeyValues({{"ID", "job-1"}, {"Last transition", "x"}, {"Empty", ""}}),
            "ID:              job-1\n"
            "Last transition: x\n"
            "Empty:\n");
}

nmoe::v1::Job SampleJob() {
  nmoe::v1::Job job;
  job.set_id("job-1");
  job.set_state(nmoe::v1::JOB_STATE_RUNNING);
  job.set_last_event_seq(12);
  job.mutable_spec()->set_name("2024");
  job.mutable_spec()->mutable_profile()->set_top_n(500);
  job.mutable_progress()->set_rate_per_second(0.5);
  return job;
}

TEST(JsonTest, ProtoFieldNamesAndNoDefaults) {
  absl::StatusOr<std::string> json = RenderMessage(SampleJob(), OutputFormat::kJson);
  ASSERT_TRUE(json.ok()) << json.status();
  nlohmann::json parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["id"], "job-1");
  EXPECT_EQ(parsed["state"], "JOB_STATE_RUNNING");
  EXPECT_EQ(parsed["last_event_seq"], "12");  // uint64 as a string (protobuf JSON)
  EXPECT_EQ(parsed["spec"]["profile"]["top_n"], 500);
  EXPECT_FALSE(parsed.contains("attempt"));  // default values are not printed
  EXPECT_FALSE(parsed.contains("lastEventSeq"));
  EXPECT_EQ(json->back(), '\n');
  EXPECT_THAT(*json, HasSubstr("\n  \"id\": \"job-1\""));  // pretty, two spaces
}

TEST(JsonTest, KeepsFieldOrder) {
  absl::StatusOr<nlohmann::ordered_json> value = MessageToJsonValue(SampleJob());
  ASSERT_TRUE(value.ok());
  std::vector<std::string> keys;
  for (const auto& [key, v] : value->items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "spec", "state", "progress", "last_event_seq"}));
}

TEST(YamlTest, BlockStyleAndStringsThatLookLikeOtherTypesQuoted) {
  absl::StatusOr<std::string> yaml = RenderMessage(SampleJob(), OutputFormat::kYaml);
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_EQ(*yaml,
            "id: job-1\n"
            "spec:\n"
            "  name: \"2024\"\n"
            "  profile:\n"
            "    top_n: 500\n"
            "state: JOB_STATE_RUNNING\n"
            "progress:\n"
            "  rate_per_second: 0.5\n"
            "last_event_seq: \"12\"\n");
}

TEST(YamlTest, ReadsBackAsTheSameValues) {
  nlohmann::ordered_json value = {
      {"empty", ""}, {"yes", "no"},     {"bool", true},      {"list", {1, 2}},
      {"none", {}},  {"multi", "a\nb"}, {"lines", "x\ny\n"}, {"time", "2024-05-01T12:00:03Z"},
      {"neg", "-1"}, {"cr", "gui\r\rded"}, {"crlf", "a\r\nb\r\n"}, {"tab", "a\tb"}, {"esc", "\x1b[2J"}};
  value["none"] = nlohmann::ordered_json::object();
  const std::string yaml = JsonToYaml(value);
  YAML::Node node = YAML::Load(yaml);
  EXPECT_EQ(node["empty"].Tag(), "!");  // quoted
  EXPECT_EQ(node["empty"].as<std::string>(), "");
  EXPECT_EQ(node["yes"].Tag(), "!");
  EXPECT_EQ(node["bool"].as<bool>(), true);
  EXPECT_EQ(node["list"][1].as<int>(), 2);
  EXPECT_TRUE(node["none"].IsMap());
  EXPECT_EQ(node["multi"].as<std::string>(), "a\nb");
  EXPECT_EQ(node["lines"].as<std::string>(), "x\ny\n");
  EXPECT_THAT(yaml, HasSubstr("lines: |\n  x\n  y\n"));
  EXPECT_EQ(node["time"].Tag(), "!");
  EXPECT_EQ(node["neg"].Tag(), "!");
  // Control characters come back only escaped in double quotes (a fuzzer found
  // "\r" lost by a plain scalar).
  EXPECT_EQ(node["cr"].as<std::string>(), "gui\r\rded");
  EXPECT_EQ(node["crlf"].as<std::string>(), "a\r\nb\r\n");
  EXPECT_EQ(node["tab"].as<std::string>(), "a\tb");
  EXPECT_EQ(node["esc"].as<std::string>(), "\x1b[2J");
}

TEST(RenderValueTest, TableAndCsvAreNotRecordFormats) {
  EXPECT_FALSE(RenderValue(nlohmann::ordered_json::object(), OutputFormat::kTable).ok());
  EXPECT_FALSE(RenderValue(nlohmann::ordered_json::object(), OutputFormat::kCsv).ok());
}

}  // namespace
}  // namespace nmoe::cli
