// The fuzz target fuzz/job_file_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_job_file
#define LLVMFuzzerInitialize NmoeFuzzInit_job_file
#include "fuzz/job_file_fuzzer.cc"
