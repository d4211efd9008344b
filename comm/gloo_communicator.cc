#include "comm/gloo_communicator.h"

#include <unistd.h>

#include <array>
#include <mutex>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "comm/gloo_store.h"
#include "comm/tensor_checks.h"

namespace nmoe::comm {
namespace {

using ReduceFn = void (*)(void*, const void*, const void*, size_t);

// Gloo reports timeouts and broken connections as exceptions; the message
// names the peer's address when gloo knows it.
absl::Status FromGloo(const std::exception& e, const std::string& what) {
  const std::string message = e.what();
  const bool timed_out = absl::StrContains(message, "Timed out") || absl::StrContains(message, "DEADLINE_EXCEEDED");
  const std::string text = absl::StrCat(what, ": ", message);
  return timed_out ? absl::DeadlineExceededError(text) : absl::UnavailableError(text);
}

template <typename T>
ReduceFn ReduceFor(ReduceOp op) {
  return op == ReduceOp::kMax ? static_cast<ReduceFn>(&gloo::max<T>) : static_cast<ReduceFn>(&gloo::sum<T>);
}

// One entry per collective in the fingerprint exchanged by verify_shapes.
enum OpCode : int64_t { kOpAllReduce = 1, kOpAllGather, kOpBroadcast, kOpAllToAll };
constexpr int kMaxFingerprintDims = 6;
using Fingerprint = std::array<int64_t, 5 + kMaxFingerprintDims>;

Fingerprint FingerprintOf(OpCode op, const torch::Tensor& t, int64_t extra) {
  Fingerprint f{};
  f[0] = op;
  f[1] = static_cast<int64_t>(t.scalar_type());
  f[2] = t.dim();
  f[3] = t.numel();
  f[4] = extra;
  for (int64_t d = 0; d < std::min<int64_t>(t.dim(), kMaxFingerprintDims); ++d) f[5 + d] = t.size(d);
  return f;
}

std::string DescribeFingerprint(const Fingerprint& f) {
  std::string dims;
  for (int64_t d = 0; d < std::min<int64_t>(f[2], kMaxFingerprintDims); ++d) {
    absl::StrAppend(&dims, d ? ", " : "", f[5 + d]);
  }
  if (f[2] > kMaxFingerprintDims) absl::StrAppend(&dims, ", ...");
  static constexpr const char* kOps[] = {"?", "all_reduce", "all_gather", "broadcast", "all_to_all"};
  const char* op = (f[0] >= 1 && f[0] <= 4) ? kOps[f[0]] : "?";
  return absl::StrCat(op, " of ", c10::toString(static_cast<c10::ScalarType>(f[1])), " [", dims, "] (arg ", f[4],
                      ")");
}

class GlooCommunicator : public Communicator {
 public:
  GlooCommunicator(std::shared_ptr<gloo::rendezvous::Context> context, const CommOptions& options)
      : context_(std::move(context)),
        rank_(options.rank),
        world_(options.world_size),
        timeout_(std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout))),
        verify_shapes_(options.verify_shapes) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend_name() const override { return "gloo"; }

  absl::Status AllReduce(const torch::Tensor& tensor, ReduceOp op) override {
    if (auto s = CheckTensor("all_reduce", "tensor", tensor, torch::kCPU); !s.ok()) return s;
    if (auto s = CheckReduceOp(tensor, op); !s.ok()) return s;
    return Run("all_reduce", FingerprintOf(kOpAllReduce, tensor, static_cast<int64_t>(op)), [&] {
      // bfloat16: reduce a float32 copy, round once at the end.
      torch::Tensor work = tensor.scalar_type() == torch::kBFloat16 ? tensor.to(torch::kFloat32) : tensor;
      gloo::AllreduceOptions opts(context_);
      opts.setTimeout(timeout_);
      opts.setTag(NextTag());
      switch (work.scalar_type()) {
        case torch::kFloat32: SetAllReduce<float>(opts, work, op); break;
        case torch::kFloat64: SetAllReduce<double>(opts, work, op); break;
        case torch::kInt32: SetAllReduce<int32_t>(opts, work, op); break;
        case torch::kInt64: SetAllReduce<int64_t>(opts, work, op); break;
        default: throw std::logic_error("unreachable dtype");
      }
      if (work.numel() > 0) gloo::allreduce(opts);
      if (op == ReduceOp::kMean) work.div_(world_);
      if (!work.is_same(tensor)) tensor.copy_(work);
    });
  }

  absl::Status AllGather(const torch::Tensor& input, const torch::Tensor& output_WX) override {
    if (auto s = CheckAllGather(input, output_WX, world_, torch::kCPU); !s.ok()) return s;
    return Run("all_gather", FingerprintOf(kOpAllGather, input, 0), [&] {
      if (input.numel() == 0) return;
      gloo::AllgatherOptions opts(context_);
      opts.setTimeout(timeout_);
      opts.setTag(NextTag());
      opts.setInput(Bytes(input), input.nbytes());
      opts.setOutput(Bytes(output_WX), output_WX.nbytes());
      gloo::allgather(opts);
    });
  }

  absl::Status Broadcast(const torch::Tensor& tensor, int root) override {
    if (auto s = CheckTensor("broadcast", "tensor", tensor, torch::kCPU); !s.ok()) return s;
    if (auto s = CheckRoot(root, world_); !s.ok()) return s;
    return Run("broadcast", FingerprintOf(kOpBroadcast, tensor, root), [&] {
      if (tensor.numel() == 0) return;
      gloo::BroadcastOptions opts(context_);
      opts.setTimeout(timeout_);
      opts.setTag(NextTag());
      opts.setRoot(root);
      opts.setOutput(Bytes(tensor), tensor.nbytes());
      gloo::broadcast(opts);
    });
  }

  absl::Status AllToAll(const torch::Tensor& input, const torch::Tensor& output) override {
    if (auto s = CheckAllToAll(input, output, world_, torch::kCPU); !s.ok()) return s;
    return Run("all_to_all", FingerprintOf(kOpAllToAll, input, 0), [&] {
      if (input.numel() == 0) return;
      gloo::AlltoallOptions opts(context_);
      opts.setTimeout(timeout_);
      opts.setTag(NextTag());
      opts.setInput(Bytes(input), input.nbytes());
      opts.setOutput(Bytes(output), output.nbytes());
      gloo::alltoall(opts);
    });
  }

  absl::Status Barrier() override {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) return Broken();
    try {
      gloo::BarrierOptions opts(context_);
      opts.setTimeout(timeout_);
      opts.setTag(NextTag());
      gloo::barrier(opts);
    } catch (const std::exception& e) {
      broken_ = FromGloo(e, Where("barrier"));
      return broken_;
    }
    return absl::OkStatus();
  }

 private:
  template <typename T>
  static void SetAllReduce(gloo::AllreduceOptions& opts, const torch::Tensor& t, ReduceOp op) {
    T* ptr = t.data_ptr<T>();
    opts.setOutput(ptr, static_cast<size_t>(t.numel()));
    opts.setReduceFunction(ReduceFor<T>(op));
  }

  static uint8_t* Bytes(const torch::Tensor& t) { return static_cast<uint8_t*>(t.data_ptr()); }

  uint32_t NextTag() { return next_tag_++; }

  std::string Where(const char* op) const {
    return absl::StrCat("gloo ", op, " on rank ", rank_, " of ", world_);
  }

  absl::Status Broken() const {
    return absl::FailedPreconditionError(
        absl::StrCat("communicator (rank ", rank_, " of ", world_, ") is broken by an earlier error: ",
                     broken_.message()));
  }

  // Serializes, optionally verifies that every rank passed the same
  // fingerprint, and turns gloo and torch exceptions into statuses.
  template <typename Body>
  absl::Status Run(const char* op, const Fingerprint& mine, Body body) {
    std::lock_guard lock(mu_);
    if (!broken_.ok()) return Broken();
    try {
      if (verify_shapes_) {
        if (auto s = Verify(op, mine); !s.ok()) return s;
      }
      body();
    } catch (const gloo::Exception& e) {
      broken_ = FromGloo(e, Where(op));
      return broken_;
    } catch (const c10::Error& e) {
      return absl::InternalError(absl::StrCat(Where(op), ": ", e.what_without_backtrace()));
    } catch (const std::exception& e) {
      broken_ = absl::InternalError(absl::StrCat(Where(op), ": ", e.what()));
      return broken_;
    }
    return absl::OkStatus();
  }

  absl::Status Verify(const char* op, const Fingerprint& mine) {
    std::vector<Fingerprint> all(world_);
    gloo::AllgatherOptions opts(context_);
    opts.setTimeout(timeout_);
    opts.setTag(NextTag());
    opts.setInput(const_cast<int64_t*>(mine.data()), mine.size());
    opts.setOutput(all.front().data(), mine.size() * world_);
    gloo::allgather(opts);
    for (int r = 0; r < world_; ++r) {
      if (all[r] != all[0]) {
        return absl::InvalidArgumentError(absl::StrCat(op, ": ranks disagree: rank 0 called ",
                                                       DescribeFingerprint(all[0]), ", rank ", r, " called ",
                                                       DescribeFingerprint(all[r])));
      }
    }
    return absl::OkStatus();
  }

  std::shared_ptr<gloo::rendezvous::Context> context_;
  const int rank_;
  const int world_;
  const std::chrono::milliseconds timeout_;
  const bool verify_shapes_;
  std::mutex mu_;
  uint32_t next_tag_ = 0;
  absl::Status broken_;
};

std::string DefaultHostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> MakeGlooCommunicator(const CommOptions& options) {
  const std::string where = absl::StrCat("gloo rendezvous of rank ", options.rank, " of ", options.world_size,
                                         " under '", options.prefix, "'");
  gloo::transport::tcp::attr attr;
  if (!options.iface.empty()) {
    attr.iface = options.iface;
  } else {
    attr.hostname = options.hostname.empty() ? DefaultHostname() : options.hostname;
  }
  try {
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(options.rank, options.world_size);
    const absl::Duration connect_timeout = RendezvousTimeout(options);
    context->setTimeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(connect_timeout)));
    GlooStore store(options.store, options.prefix, connect_timeout);
    context->connectFullMesh(store, device);
    context->setTimeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(options.timeout)));
    return std::unique_ptr<Communicator>(new GlooCommunicator(std::move(context), options));
  } catch (const std::exception& e) {
    return FromGloo(e, where);
  }
}

}  // namespace nmoe::comm
