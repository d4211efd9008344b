// The fuzz target fuzz/tokenizer_fuzzer.cc compiled into the GCC suite under another name,
// so that fuzz_replay_test can feed it every committed input (corpus_replay_test.cc).
#define LLVMFuzzerTestOneInput NmoeFuzzOne_tokenizer
#define LLVMFuzzerInitialize NmoeFuzzInit_tokenizer
#include "fuzz/tokenizer_fuzzer.cc"
