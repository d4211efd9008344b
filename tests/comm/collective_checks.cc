#include "tests/comm/collective_checks.h"

#include <torch/types.h>

#include "absl/strings/str_cat.h"
#include "comm/tensor_checks.h"

namespace nmoe::comm::testing {
namespace {

std::string Values(const torch::Tensor& t) {
  std::string out;
  auto flat = t.to(torch::kFloat64).reshape({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) absl::StrAppend(&out, i ? ", " : "", flat[i].item<double>());
  return absl::StrCat("[", out, "]");
}

// Exact comparison: every expected value below is exactly representable.
absl::Status Expect(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
  if (got.scalar_type() != want.scalar_type() || !got.sizes().equals(want.sizes()) || !torch::equal(got, want)) {
    return absl::InternalError(absl::StrCat(what, ": got ", c10::toString(got.scalar_type()), ShapeString(got), " ",
                                            Values(got), ", want ", c10::toString(want.scalar_type()),
                                            ShapeString(want), " ", Values(want)));
  }
  return absl::OkStatus();
}

#define CHECK_OK(expr)                                                                            \
  do {                                                                                            \
    if (absl::Status s_ = (expr); !s_.ok()) return absl::Status(s_.code(), absl::StrCat(#expr, ": ", s_.message())); \
  } while (0)

}  // namespace

absl::Status CheckAllCollectives(Communicator& comm) {
  const int64_t r = comm.rank();
  const int64_t w = comm.world_size();
  const int64_t tri = w * (w + 1) / 2;  // sum over ranks of (r + 1)

  // Sum, float32: rank r holds (r + 1) * [1, 2, 3].
  auto f = torch::tensor({1.0f, 2.0f, 3.0f}) * static_cast<float>(r + 1);
  CHECK_OK(comm.AllReduce(f, ReduceOp::kSum));
  CHECK_OK(Expect("sum float32", f, torch::tensor({1.0f, 2.0f, 3.0f}) * static_cast<float>(tri)));

  // Mean, float64: mean of (r + 1) is (W + 1) / 2.
  auto d = torch::tensor({2.0, -4.0}, torch::kFloat64) * static_cast<double>(r + 1);
  CHECK_OK(comm.AllReduce(d, ReduceOp::kMean));
  CHECK_OK(Expect("mean float64", d, torch::tensor({2.0, -4.0}, torch::kFloat64) * ((w + 1) / 2.0)));

  // Max, int64, 2-D: rank r holds [[r, -r], [7, 100 - r]].
  auto l = torch::tensor({r, -r, int64_t{7}, 100 - r}, torch::kInt64).reshape({2, 2});
  CHECK_OK(comm.AllReduce(l, ReduceOp::kMax));
  CHECK_OK(Expect("max int64", l, torch::tensor({w - 1, int64_t{0}, int64_t{7}, int64_t{100}}, torch::kInt64).reshape({2, 2})));

  // Sum, int32.
  auto i = torch::full({4}, static_cast<int32_t>(r + 1), torch::kInt32);
  CHECK_OK(comm.AllReduce(i, ReduceOp::kSum));
  CHECK_OK(Expect("sum int32", i, torch::full({4}, static_cast<int32_t>(tri), torch::kInt32)));

  // bfloat16, reduced in float32 and rounded once: rank r holds
  // [1.5 (r + 1), 100 + r]. The sums are 1.5 tri (exact) and 100 W + W(W-1)/2:
  // 100, 201, 303 -> bf16 (8 significant bits) 100, 201, 304.
  auto b = torch::tensor({1.5f * static_cast<float>(r + 1), 100.0f + static_cast<float>(r)}).to(torch::kBFloat16);
  CHECK_OK(comm.AllReduce(b, ReduceOp::kSum));
  const float second = w == 1 ? 100.0f : w == 2 ? 201.0f : w == 3 ? 304.0f : -1.0f;
  CHECK_OK(Expect("sum bfloat16", b, torch::tensor({1.5f * static_cast<float>(tri), second}).to(torch::kBFloat16)));
  // bfloat16 max and mean: [r + 1] -> max W, mean (W + 1) / 2.
  auto bm = torch::full({3}, static_cast<float>(r + 1)).to(torch::kBFloat16);
  CHECK_OK(comm.AllReduce(bm, ReduceOp::kMax));
  CHECK_OK(Expect("max bfloat16", bm, torch::full({3}, static_cast<float>(w)).to(torch::kBFloat16)));
  auto ba = torch::full({3}, static_cast<float>(r + 1)).to(torch::kBFloat16);
  CHECK_OK(comm.AllReduce(ba, ReduceOp::kMean));
  CHECK_OK(Expect("mean bfloat16", ba, torch::full({3}, (w + 1) / 2.0f).to(torch::kBFloat16)));

  // All-gather: rank r contributes [r, 10 r, -r]; row q of the output is rank q's.
  auto in = torch::tensor({r, 10 * r, -r}, torch::kInt64);
  auto out = torch::empty({w, 3}, torch::kInt64);
  CHECK_OK(comm.AllGather(in, out));
  auto want = torch::empty({w, 3}, torch::kInt64);
  for (int64_t q = 0; q < w; ++q) want[q] = torch::tensor({q, 10 * q, -q}, torch::kInt64);
  CHECK_OK(Expect("all_gather int64", out, want));
  // The vector form, bfloat16.
  auto gathered = comm.AllGather(torch::full({2}, static_cast<float>(r) + 0.5f).to(torch::kBFloat16));
  CHECK_OK(gathered.status());
  if (static_cast<int64_t>(gathered->size()) != w) return absl::InternalError("all_gather vector: wrong count");
  for (int64_t q = 0; q < w; ++q) {
    CHECK_OK(Expect("all_gather vector bfloat16", (*gathered)[q],
                    torch::full({2}, static_cast<float>(q) + 0.5f).to(torch::kBFloat16)));
  }

  // Broadcast from the last rank and from rank 0.
  auto bc = torch::full({2, 3}, static_cast<float>(r * 10 + 1));
  CHECK_OK(comm.Broadcast(bc, static_cast<int>(w - 1)));
  CHECK_OK(Expect("broadcast float32 root W-1", bc, torch::full({2, 3}, static_cast<float>((w - 1) * 10 + 1))));
  auto bc0 = torch::tensor({r + 5}, torch::kInt64);
  CHECK_OK(comm.Broadcast(bc0, 0));
  CHECK_OK(Expect("broadcast int64 root 0", bc0, torch::tensor({int64_t{5}}, torch::kInt64)));

  // All-to-all, chunks of 2 rows of [2 W, 2]: rank r's row k holds (100 r + k, -k).
  auto a2a_in = torch::empty({2 * w, 2}, torch::kFloat64);
  for (int64_t k = 0; k < 2 * w; ++k) a2a_in[k] = torch::tensor({100.0 * r + k, -1.0 * k}, torch::kFloat64);
  auto a2a_out = torch::empty_like(a2a_in);
  CHECK_OK(comm.AllToAll(a2a_in, a2a_out));
  // Chunk q of the output = rows 2r, 2r+1 of rank q's input.
  auto a2a_want = torch::empty_like(a2a_in);
  for (int64_t q = 0; q < w; ++q) {
    for (int64_t j = 0; j < 2; ++j) {
      const int64_t k = 2 * r + j;
      a2a_want[2 * q + j] = torch::tensor({100.0 * q + k, -1.0 * k}, torch::kFloat64);
    }
  }
  CHECK_OK(Expect("all_to_all float64", a2a_out, a2a_want));

  CHECK_OK(comm.Barrier());
  return absl::OkStatus();
}

}  // namespace nmoe::comm::testing
