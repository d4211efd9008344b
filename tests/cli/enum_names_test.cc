#include "cli/enum_names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nmoe/v1/job.pb.h"
#include "nmoe/v1/job_spec.pb.h"
#include "nmoe/v1/worker_service.pb.h"

namespace nmoe::cli {
namespace {

using ::testing::HasSubstr;

TEST(EnumNamesTest, ShortNamesDropPrefixAndUseDashes) {
  EXPECT_EQ(EnumName(nmoe::v1::JOB_STATE_PENDING), "pending");
  EXPECT_EQ(EnumName(nmoe::v1::JOB_STATE_CANCELLING), "cancelling");
  EXPECT_EQ(EnumName(nmoe::v1::JOB_KIND_PROFILE), "profile");
  EXPECT_EQ(EnumName(nmoe::v1::ALLOCATION_STRATEGY_NEURON_GUIDED), "neuron-guided");
  EXPECT_EQ(EnumName(nmoe::v1::ALLOCATION_STRATEGY_LAYER_SIMILARITY), "layer-similarity");
  EXPECT_EQ(EnumName(nmoe::v1::NEURON_CRITERION_LAPE), "lape");
  EXPECT_EQ(EnumName(nmoe::v1::WORKER_STATE_BUSY), "busy");
  EXPECT_EQ(EnumName(nmoe::v1::LOG_LEVEL_WARNING), "warning");
  EXPECT_EQ(EnumName(nmoe::v1::COMPUTE_DTYPE_BF16), "bf16");
  EXPECT_EQ(EnumName(nmoe::v1::TRAINABLE_EXPERTS_AND_ROUTERS), "experts-and-routers");
}

TEST(EnumNamesTest, ComponentsKeepUnderscores) {
  EXPECT_EQ(EnumName(nmoe::v1::COMPONENT_Q_PROJ), "q_proj");
  EXPECT_EQ(EnumName(nmoe::v1::COMPONENT_GATE_PROJ), "gate_proj");
  EXPECT_EQ(EnumName(nmoe::v1::COMPONENT_DOWN_PROJ), "down_proj");
}

TEST(EnumNamesTest, UnspecifiedAndUnknownValues) {
  EXPECT_EQ(EnumName(nmoe::v1::JOB_STATE_UNSPECIFIED), "unspecified");
  EXPECT_EQ(EnumName(static_cast<nmoe::v1::JobState>(42)), "42");
}

TEST(EnumNamesTest, ParsesShortNamesLenientlyAndFullNames) {
  EXPECT_EQ(*ParseEnum<nmoe::v1::JobState>("running"), nmoe::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(*ParseEnum<nmoe::v1::JobState>("RUNNING"), nmoe::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(*ParseEnum<nmoe::v1::JobState>("JOB_STATE_RUNNING"), nmoe::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(*ParseEnum<nmoe::v1::AllocationStrategy>("neuron-guided"),
            nmoe::v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  EXPECT_EQ(*ParseEnum<nmoe::v1::AllocationStrategy>("neuron_guided"),
            nmoe::v1::ALLOCATION_STRATEGY_NEURON_GUIDED);
  EXPECT_EQ(*ParseEnum<nmoe::v1::Component>("q_proj"), nmoe::v1::COMPONENT_Q_PROJ);
  EXPECT_EQ(*ParseEnum<nmoe::v1::Component>("q-proj"), nmoe::v1::COMPONENT_Q_PROJ);
  EXPECT_EQ(*ParseEnum<nmoe::v1::NeuronCriterion>("ap"), nmoe::v1::NEURON_CRITERION_AP);
}

TEST(EnumNamesTest, RejectsUnknownAndUnspecifiedListingChoices) {
  absl::StatusOr<nmoe::v1::JobState> bad = ParseEnum<nmoe::v1::JobState>("sleeping");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("unknown job state \"sleeping\""));
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("pending, scheduled, running, retrying"));
  EXPECT_FALSE(ParseEnum<nmoe::v1::JobState>("unspecified").ok());
  EXPECT_FALSE(ParseEnum<nmoe::v1::JobKind>("").ok());
}

// Every value of every enum nmoectl shows maps to a name and back.
template <typename E>
void ExpectRoundTrip() {
  const google::protobuf::EnumDescriptor* type = google::protobuf::GetEnumDescriptor<E>();
  for (int i = 0; i < type->value_count(); ++i) {
    const int number = type->value(i)->number();
    if (number == 0) continue;
    const std::string name = ShortEnumName(type, number);
    absl::StatusOr<E> back = ParseEnum<E>(name);
    ASSERT_TRUE(back.ok()) << name << ": " << back.status();
    EXPECT_EQ(static_cast<int>(*back), number) << name;
  }
}

TEST(EnumNamesTest, RoundTripsEveryValue) {
  ExpectRoundTrip<nmoe::v1::JobState>();
  ExpectRoundTrip<nmoe::v1::JobKind>();
  ExpectRoundTrip<nmoe::v1::LogLevel>();
  ExpectRoundTrip<nmoe::v1::Component>();
  ExpectRoundTrip<nmoe::v1::NeuronCriterion>();
  ExpectRoundTrip<nmoe::v1::AllocationStrategy>();
  ExpectRoundTrip<nmoe::v1::WorkerState>();
  ExpectRoundTrip<nmoe::v1::DeviceKind>();
  ExpectRoundTrip<nmoe::v1::Trainable>();
}

TEST(EnumNamesTest, NameListForHelp) {
  EXPECT_EQ(ShortEnumNameList(nmoe::v1::JobKind_descriptor()),
            "profile, allocate, train, evaluate, pipeline, pretrain");
  EXPECT_EQ(ShortEnumNameList(nmoe::v1::NeuronCriterion_descriptor()), "ap, lape");
}

}  // namespace
}  // namespace nmoe::cli
