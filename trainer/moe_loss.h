// The training loss of the MoE stages (METHOD.md step 3):
//   LM loss + balance_coef x mean over MoE layers of the Switch balance loss
//           + lpr_coef x mean over MoE layers of the LPR loss (old-language tokens)
//           + z_coef x mean over MoE layers of the router z-loss
//           + classifier_coef x mean over classifier layers of the sequence classifier's
//             cross-entropy against the tokens' languages (LayerMoE)
// In classifier layers the tokens' true languages (old = old_shard) decide which tokens
// use expert 0 alone during the forward (MoeMlp::set_forced_old).
// As the train loop wants (train_loop.h, LossFn), the returned value is a SUM over the
// micro-batch's predicted tokens: the auxiliary terms, which are means, are scaled by
// the micro-batch's predicted-token count, so after the loop's division by the step's
// token count each auxiliary term is its token-weighted mean over the micro-batches.
#pragma once

#include <torch/types.h>

#include <vector>

#include "absl/status/statusor.h"
#include "model/causal_lm.h"
#include "trainer/routing_stats.h"
#include "trainer/train_loop.h"

namespace nmoe::trainer {

struct MoeLossOptions {
  double balance_coef = 0.0;
  double lpr_coef = 0.0;
  double z_coef = 0.0;
  double classifier_coef = 0.0;
  // Per data shard (Batch::source_BT): whether its language is old, for the LPR loss and
  // the sequence classifiers.
  std::vector<bool> old_shard;
};

// Means over the MoE layers of the last micro-batch's auxiliary losses (for metrics).
struct MoeLossParts {
  double lm = 0;  // mean LM loss of the micro-batch
  double balance = 0;
  double lpr = 0;
  double z = 0;
  double classifier = 0;           // mean cross-entropy over classifier layers
  double classifier_accuracy = 0;  // mean share of valid tokens classified right
};

class MoeLoss {
 public:
  // Turns on routing recording in every MoE layer of `model` (which must outlive this).
  MoeLoss(model::CausalLm& model, MoeLossOptions options);
  ~MoeLoss();

  absl::StatusOr<at::Tensor> operator()(const Batch& batch);
  const MoeLossParts& last() const { return last_; }
  bool has_classifier() const { return has_classifier_; }
  // The MoE layers' (token, slot) counts of the valid tokens of every micro-batch since
  // the last call (group ""), for metrics; resets them. Empty for a dense model.
  std::vector<LayerRoutingCounts> TakeRouting();

 private:
  model::CausalLm& model_;
  MoeLossOptions options_;
  MoeLossParts last_;
  bool has_classifier_ = false;
  std::vector<LayerRoutingCounts> routing_;  // one per MoE layer, in layer order
};

}  // namespace nmoe::trainer
