// The fuzz target fuzz/model_config_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_model_config
#define LLVMFuzzerInitialize NmoeFuzzInit_model_config
#include "fuzz/model_config_fuzzer.cc"
