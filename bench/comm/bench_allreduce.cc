// Gloo all-reduce bandwidth on loopback: W ranks as threads of this process
// (each with its own communicator and TCP connections over 127.0.0.1),
// float32 sum over 1 MB .. 64 MB, against this machine's single-thread memcpy
// bandwidth. Prints a Markdown table.
//
//   bench_allreduce [--world 2] [--min-kb 1024] [--max-kb 65536] [--seconds 1.0] [--verify 1]
// --verify 0 turns off CommOptions::verify_shapes (one small all-gather per call).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "comm/make_communicator.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// GB/s of memcpy of `bytes` (best of a few rounds).
double MemcpyGBps(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    best = std::min(best, Seconds(t0, Clock::now()));
  }
  return bytes / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int world = 2;
  int64_t min_kb = 1024, max_kb = 64 * 1024;
  double budget = 1.0;
  bool verify = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--world") world = std::stoi(argv[i + 1]);
    else if (flag == "--min-kb") min_kb = std::stoll(argv[i + 1]);
    else if (flag == "--max-kb") max_kb = std::stoll(argv[i + 1]);
    else if (flag == "--seconds") budget = std::stod(argv[i + 1]);
    else if (flag == "--verify") verify = std::stoi(argv[i + 1]) != 0;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  using namespace nmoe::comm;
  InMemoryRendezvousStore store;
  std::vector<std::unique_ptr<Communicator>> comms(world);
  {
    std::vector<std::thread> threads;
    for (int r = 0; r < world; ++r) {
      threads.emplace_back([&, r] {
        CommOptions options;
        options.backend = Backend::kGloo;
        options.rank = r;
        options.world_size = world;
        options.store = &store;
        options.hostname = "127.0.0.1";
        options.verify_shapes = verify;
        auto comm = MakeCommunicator(options);
        if (!comm.ok()) {
          std::fprintf(stderr, "rank %d: %s\n", r, comm.status().ToString().c_str());
          std::exit(1);
        }
        comms[r] = std::move(*comm);
      });
    }
    for (auto& t : threads) t.join();
  }
  std::printf("Gloo all-reduce (float32 sum), %d ranks as threads over 127.0.0.1, %u hardware threads, "
              "verify_shapes %s\n\n", world, std::thread::hardware_concurrency(), verify ? "on" : "off");
  std::printf("| size | time per all-reduce | algbw GB/s | busbw GB/s | memcpy GB/s | busbw / memcpy |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  for (int64_t kb = min_kb; kb <= max_kb; kb *= 2) {
    const int64_t bytes = kb << 10;
    std::vector<torch::Tensor> tensors;
    for (int r = 0; r < world; ++r) tensors.push_back(torch::ones({bytes / 4}));
    // Every rank runs the same number of iterations: rank 0 decides after a warm-up.
    auto run = [&](int iters) {
      std::vector<std::thread> threads;
      for (int r = 0; r < world; ++r) {
        threads.emplace_back([&, r] {
          for (int i = 0; i < iters; ++i) {
            if (auto s = comms[r]->AllReduce(tensors[r], ReduceOp::kSum); !s.ok()) {
              std::fprintf(stderr, "rank %d: %s\n", r, s.ToString().c_str());
              std::exit(1);
            }
          }
        });
      }
      for (auto& t : threads) t.join();
    };
    auto t0 = Clock::now();
    run(1);
    const double warm = Seconds(t0, Clock::now());
    const int iters = std::max(2, static_cast<int>(budget / std::max(warm, 1e-6)));
    t0 = Clock::now();
    run(iters);
    const double per = Seconds(t0, Clock::now()) / iters;
    const double algbw = bytes / per / 1e9;
    const double busbw = algbw * 2.0 * (world - 1) / world;
    const double copy = MemcpyGBps(static_cast<size_t>(bytes));
    std::printf("| %lld KB | %.3f ms | %.2f | %.2f | %.1f | %.3f |\n", static_cast<long long>(kb), per * 1e3, algbw,
                busbw, copy, busbw / copy);
    std::fflush(stdout);
  }
  return 0;
}
