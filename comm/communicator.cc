#include "comm/communicator.h"

#include "absl/strings/str_cat.h"

namespace nmoe::comm {

absl::StatusOr<std::vector<torch::Tensor>> Communicator::AllGather(const torch::Tensor& input) {
  torch::Tensor output_WX;
  try {
    if (!input.defined()) return absl::InvalidArgumentError("all_gather: input is an undefined tensor");
    std::vector<int64_t> shape{world_size()};
    for (int64_t d : input.sizes()) shape.push_back(d);
    output_WX = torch::empty(shape, input.options());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("all_gather: allocating the output: ", e.what_without_backtrace()));
  }
  if (auto s = AllGather(input, output_WX); !s.ok()) return s;
  return output_WX.unbind(0);
}

}  // namespace nmoe::comm
