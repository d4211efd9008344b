// A small, fully specified PRNG and shuffle: identical results on every platform and
// standard library (std::shuffle and std::uniform_int_distribution are not), so data
// order is reproducible from a seed.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace nmoe::data {

// SplitMix64 (Steele, Lea, Flood 2014).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0: rejection of the low values that would bias
  // the modulo, then r % bound.
  uint64_t Below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    uint64_t r = Next();
    while (r < threshold) r = Next();
    return r % bound;
  }

 private:
  uint64_t state_;
};

// Mixes two values into one seed (e.g. a user seed and an epoch number).
inline uint64_t MixSeed(uint64_t a, uint64_t b) {
  SplitMix64 r(a ^ (b * 0xD1B54A32D192ED03ull));
  return r.Next();
}

// Fisher-Yates from the last element down, j = rng.Below(i + 1).
template <typename T>
void Shuffle(std::vector<T>* v, SplitMix64* rng) {
  for (size_t i = v->size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng->Below(i));
    std::swap((*v)[i - 1], (*v)[j]);
  }
}

}  // namespace nmoe::data
