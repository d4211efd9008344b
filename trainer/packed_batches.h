// Batches of packed token windows (data/packing.h) for language-model training, and
// the next-token loss over them.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "data/packing.h"
#include "model/causal_lm.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {

// A batch from packed windows: ids_BT = tokens[0, T), targets_BT = tokens[1, T]
// with model::kIgnoreIndex where the window's loss mask is 0 (a target that starts a
// document). All windows must have the same length.
Batch BatchFromWindows(const std::vector<data::PackedSequence>& windows);

// BatchSource over a PackedLoader (shuffled epochs, resumable by LoaderPosition).
class PackedBatchSource : public BatchSource {
 public:
  explicit PackedBatchSource(std::unique_ptr<data::PackedLoader> loader) : loader_(std::move(loader)) {}
  Batch Next(int64_t sequences) override;
  std::string Position() const override { return loader_->Position().ToString(); }
  absl::Status Seek(const std::string& position) override;
  const data::PackedLoader& loader() const { return *loader_; }

 private:
  std::unique_ptr<data::PackedLoader> loader_;
};

// Summed next-token cross entropy of `model` on `batch` (fp32 scalar, autograd on):
// logits of position t against targets_BT[:, t], ignored targets skipped.
absl::StatusOr<at::Tensor> LmLossSum(model::CausalLm& model, const Batch& batch);

}  // namespace nmoe::trainer
