// The fuzz target fuzz/job_spec_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_job_spec
#define LLVMFuzzerInitialize NmoeFuzzInit_job_spec
#include "fuzz/job_spec_fuzzer.cc"
