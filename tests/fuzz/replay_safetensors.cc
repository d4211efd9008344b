// The fuzz target fuzz/safetensors_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_safetensors
#define LLVMFuzzerInitialize NmoeFuzzInit_safetensors
#include "fuzz/safetensors_fuzzer.cc"
