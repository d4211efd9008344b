// AdamW for language-model training (docs/training.md, "Optimizer").
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>

namespace nmoe::trainer {

struct AdamWSettings {
  double lr = 1e-4;  // overwritten every step by the schedule
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled (AdamW): p -= lr * weight_decay * p
};

// Two parameter groups over the module's parameters that require grad:
//   0: matrices (dim >= 2: linear weights, embeddings) with `weight_decay`;
//   1: vectors (dim < 2: RMSNorm weights, biases) without weight decay, as is usual
//      for transformers (decaying a norm's gain towards 0 only fights the model).
// A parameter shared by two modules (tied embeddings) appears once.
std::unique_ptr<torch::optim::AdamW> BuildAdamW(const torch::nn::Module& module, const AdamWSettings& settings);

}  // namespace nmoe::trainer
