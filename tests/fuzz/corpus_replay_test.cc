// Replays every committed fuzz input (fuzz/corpus/<target>/: the seeds and the inputs
// of fixed crashes, named regress-*) through the same harness the fuzzer runs, in the
// normal GCC build: a broken invariant aborts (fuzz/fuzz_check.h) and fails the test.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#define NMOE_FUZZ_TARGETS(X) X(safetensors) X(tokenizer) X(model_config) X(job_spec) X(job_file) X(stored_records)
#define NMOE_DECLARE(t) extern "C" int NmoeFuzzOne_##t(const uint8_t*, size_t);
NMOE_FUZZ_TARGETS(NMOE_DECLARE)
extern "C" int NmoeFuzzInit_stored_records(int*, char***);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Inputs(const std::string& target) {
  const char* source = std::getenv("NMOE_SOURCE_DIR");
  const fs::path dir = fs::path(source ? source : ".") / "fuzz" / "corpus" / target;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

void Replay(const std::string& target, int (*one)(const uint8_t*, size_t)) {
  const std::vector<fs::path> files = Inputs(target);
  ASSERT_FALSE(files.empty()) << "no committed inputs for " << target;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(one(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
}

#define NMOE_REPLAY_TEST(t) \
  TEST(FuzzCorpusReplayTest, t) { Replay(#t, NmoeFuzzOne_##t); }
NMOE_FUZZ_TARGETS(NMOE_REPLAY_TEST)

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  NmoeFuzzInit_stored_records(&argc, &argv);
  return RUN_ALL_TESTS();
}
