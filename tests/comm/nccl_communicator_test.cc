// The NCCL backend. Runs only in a -DNMOE_GPU=ON build; every runtime test
// skips (with the reason) on a machine without a CUDA device or with a
// CPU-only LibTorch. What runs everywhere: argument and device errors, and
// the "no device" answer of the factory.
#include "comm/nccl_communicator.h"

#include <thread>

#include <torch/cuda.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nmoe::comm {
namespace {

using ::testing::HasSubstr;

CommOptions NcclOptions(RendezvousStore* store, int rank, int world) {
  CommOptions options;
  options.backend = Backend::kNccl;
  options.rank = rank;
  options.world_size = world;
  options.store = store;
  options.prefix = "nccl-test";
  options.device = torch::Device(torch::kCUDA, 0);
  options.timeout = absl::Seconds(20);
  return options;
}

TEST(NcclCommunicatorTest, TheFactoryAnswersForThisMachine) {
  InMemoryRendezvousStore store;
  ASSERT_TRUE(HaveNccl());
  CommOptions options = NcclOptions(&store, 0, 1);
  options.device = torch::kCPU;
  EXPECT_EQ(MakeNcclCommunicator(options).status().code(), absl::StatusCode::kInvalidArgument);
  if (CudaDeviceCount() == 0) {
    auto comm = MakeCommunicator(NcclOptions(&store, 0, 1));
    EXPECT_EQ(comm.status().code(), absl::StatusCode::kUnavailable) << comm.status();
    EXPECT_THAT(std::string(comm.status().message()), HasSubstr("no CUDA device"));
  }
}

TEST(NcclCommunicatorTest, AllReduceOnOneDevice) {
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  if (!torch::cuda::is_available()) GTEST_SKIP() << "this LibTorch build has no CUDA (tensors cannot live on a GPU)";
  InMemoryRendezvousStore store;
  auto comm = MakeCommunicator(NcclOptions(&store, 0, 1));
  ASSERT_TRUE(comm.ok()) << comm.status();
  auto t = torch::arange(6, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA, 0));
  ASSERT_TRUE((*comm)->AllReduce(t, ReduceOp::kSum).ok());
  EXPECT_TRUE(torch::equal(t.cpu(), torch::arange(6, torch::kFloat32)));
  EXPECT_EQ((*comm)->AllReduce(torch::ones({2}), ReduceOp::kSum).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*comm)->Barrier().ok());
}

TEST(NcclCommunicatorTest, TwoRanksOnTwoDevices) {
  if (CudaDeviceCount() < 2) GTEST_SKIP() << "needs 2 CUDA devices, have " << CudaDeviceCount();
  if (!torch::cuda::is_available()) GTEST_SKIP() << "this LibTorch build has no CUDA";
  InMemoryRendezvousStore store;
  std::vector<absl::Status> results(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      CommOptions options = NcclOptions(&store, r, 2);
      options.device = torch::Device(torch::kCUDA, r);
      auto comm = MakeCommunicator(options);
      if (!comm.ok()) {
        results[r] = comm.status();
        return;
      }
      auto t = torch::full({4}, static_cast<float>(r + 1), torch::TensorOptions().device(options.device));
      results[r] = (*comm)->AllReduce(t, ReduceOp::kSum);
      if (results[r].ok() && !torch::equal(t.cpu(), torch::full({4}, 3.0f))) {
        results[r] = absl::InternalError("wrong sum");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 2; ++r) EXPECT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r];
}

}  // namespace
}  // namespace nmoe::comm
