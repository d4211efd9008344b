// The fuzz target fuzz/stored_records_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_stored_records
#define LLVMFuzzerInitialize NmoeFuzzInit_stored_records
#include "fuzz/stored_records_fuzzer.cc"
