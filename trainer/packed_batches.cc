#include "trainer/packed_batches.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <c10/util/Exception.h>

#include "absl/strings/str_cat.h"
#include "model/loss.h"

namespace nmoe::trainer {

Batch BatchFromWindows(const std::vector<data::PackedSequence>& windows) {
  const int64_t b = static_cast<int64_t>(windows.size());
  const int64_t t = b > 0 ? static_cast<int64_t>(windows[0].loss_mask.size()) : 0;
  Batch batch;
  batch.ids_BT = at::empty({b, t}, at::kLong);
  batch.targets_BT = at::empty({b, t}, at::kLong);
  int64_t* ids = batch.ids_BT.data_ptr<int64_t>();
  int64_t* targets = batch.targets_BT.data_ptr<int64_t>();
  batch.source_BT = at::empty({b, t}, at::kLong);
  int64_t* source = batch.source_BT.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const data::PackedSequence& w = windows[static_cast<size_t>(i)];
    for (int64_t j = 0; j < t; ++j) {
      const size_t k = static_cast<size_t>(j);
      ids[i * t + j] = w.tokens[k];
      source[i * t + j] = k < w.shard.size() ? w.shard[k] : 0;
      const bool trained = w.loss_mask[k] != 0;
      targets[i * t + j] = trained ? w.tokens[k + 1] : model::kIgnoreIndex;
      batch.predicted_tokens += trained ? 1 : 0;
    }
  }
  return batch;
}

Batch PackedBatchSource::Next(int64_t sequences) {
  std::vector<data::PackedSequence> windows;
  windows.reserve(static_cast<size_t>(sequences));
  for (int64_t i = 0; i < sequences; ++i) windows.push_back(loader_->Next());
  return BatchFromWindows(windows);
}

absl::Status PackedBatchSource::Seek(const std::string& position) {
  auto parsed = data::LoaderPosition::FromString(position);
  if (!parsed.ok()) return parsed.status();
  return loader_->Seek(*parsed);
}

absl::StatusOr<at::Tensor> LmLossSum(model::CausalLm& model, const Batch& batch) {
  auto out = model.Forward(batch.ids_BT);
  if (!out.ok()) return out.status();
  try {
    const int64_t v = out->logits_BTV.size(-1);
    const at::Tensor logits_NV = out->logits_BTV.reshape({-1, v}).to(at::kFloat);
    return at::cross_entropy_loss(logits_NV, batch.targets_BT.reshape({-1}), /*weight=*/{}, at::Reduction::Sum,
                                  model::kIgnoreIndex);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("loss: ", e.what_without_backtrace()));
  }
}

}  // namespace nmoe::trainer
