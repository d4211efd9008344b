#include "trainer/train_loop.h"

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/optim/optimizer.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/progress_meter.h"
#include "model/autocast.h"
#include "common/status_macros.h"
#include "trainer/data_parallel.h"

namespace nmoe::trainer {

TrainLoop::TrainLoop(TrainComponents components, TrainLoopOptions options)
    : c_(std::move(components)), options_(std::move(options)) {}

absl::StatusOr<std::optional<FoundCheckpoint>> TrainLoop::FindResumePoint(const TaskContext& ctx) {
  auto warn = [&](const std::string& w) { ctx.Warn(w); };
  std::optional<FoundCheckpoint> found = c_.checkpoints->FindLatestValid(warn);
  if (c_.data_parallel == nullptr || c_.data_parallel->world_size() <= 1) return found;
  // A gang resumes from one step, the newest that every rank holds a valid checkpoint
  // of: a rank killed while writing one, or whose newest is corrupt, holds an older
  // one. Each round proposes the minimum of the ranks' newest steps <= the last
  // proposal; it stands when every rank has that step, else the next round looks
  // below it. Step 0 (a fresh start) always stands.
  uint64_t limit = UINT64_MAX;
  while (true) {
    if (found && found->state.step > limit) found = c_.checkpoints->FindLatestValid(warn, limit);
    std::vector<double> proposal = {-static_cast<double>(found ? found->state.step : 0)};
    NMOE_RETURN_IF_ERROR(c_.data_parallel->MaxValues(proposal));  // max of -step = -(min step)
    const uint64_t common = static_cast<uint64_t>(-proposal[0]);
    if (found && found->state.step != common) found = c_.checkpoints->FindLatestValid(warn, common);
    const bool have = common == 0 || (found && found->state.step == common);
    std::vector<double> missing = {have ? 0.0 : 1.0};
    NMOE_RETURN_IF_ERROR(c_.data_parallel->MaxValues(missing));
    if (missing[0] == 0.0) {
      for (const auto& dir : c_.checkpoints->RemoveNewerThan(common)) {
        ctx.Warn(absl::StrCat("removed checkpoint ", dir.string(), ": the gang resumes from step ", common,
                              ", the newest step every rank holds"));
      }
      if (common == 0) found.reset();
      return found;
    }
    limit = common - 1;
  }
}

absl::StatusOr<uint64_t> TrainLoop::Resume(const TaskContext& ctx) {
  if (c_.checkpoints == nullptr) return 0;
  NMOE_ASSIGN_OR_RETURN(std::optional<FoundCheckpoint> found, FindResumePoint(ctx));
  if (!found) return 0;
  if (found->state.fingerprint != options_.fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", found->dir.string(), " belongs to another run (fingerprint ", found->state.fingerprint,
        ", this run ", options_.fingerprint, "): use a new output_path or remove the old checkpoints"));
  }
  if (found->state.step > options_.total_steps) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", found->dir.string(), " is at step ",
                                                      found->state.step, ", past this run's ", options_.total_steps,
                                                      " steps"));
  }
  if (absl::Status s = c_.load_model(found->dir); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("resuming from ", found->dir.string(), ": ", s.message()));
  }
  if (absl::Status s = CheckpointStore::LoadOptimizer(found->dir, *c_.optimizer); !s.ok()) return s;
  if (absl::Status s = c_.data->Seek(found->state.loader); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("resuming from ", found->dir.string(), ": data position: ", s.message()));
  }
  step_ = found->state.step;
  tokens_seen_ = found->state.tokens_seen;
  elapsed_seconds_ = found->state.elapsed_seconds;
  last_saved_ = step_;
  ctx.Info(absl::StrCat("resumed from ", found->dir.string(), " (step ", step_, " of ", options_.total_steps, ")"));
  return step_;
}

absl::Status TrainLoop::Save() {
  if (c_.checkpoints == nullptr || last_saved_ == step_) return absl::OkStatus();
  TrainerState state;
  state.step = step_;
  state.loader = c_.data->Position();
  state.fingerprint = options_.fingerprint;
  state.tokens_seen = tokens_seen_;
  state.elapsed_seconds = elapsed_seconds_;
  absl::Status s = c_.checkpoints->Save(state, c_.save_model, *c_.optimizer);
  if (s.ok()) last_saved_ = step_;
  return s;
}

absl::StatusOr<StepRecord> TrainLoop::Step() {
  const absl::Time start = absl::Now();
  StepRecord rec;
  rec.step = step_ + 1;
  rec.lr = options_.schedule.At(step_);
  const int64_t micro = options_.batch_sequences / options_.grad_accumulation;
  std::vector<Batch> batches;
  batches.reserve(static_cast<size_t>(options_.grad_accumulation));
  for (int64_t i = 0; i < options_.grad_accumulation; ++i) {
    batches.push_back(c_.data->Next(micro));
    rec.predicted_tokens += batches.back().predicted_tokens;
    rec.tokens += batches.back().ids_BT.numel();
  }
  if (c_.data_parallel != nullptr) {
    std::vector<double> counts = {static_cast<double>(rec.predicted_tokens), static_cast<double>(rec.tokens)};
    if (absl::Status s = c_.data_parallel->SumValues(counts); !s.ok()) return s;
    rec.predicted_tokens = static_cast<int64_t>(counts[0]);
    rec.tokens = static_cast<int64_t>(counts[1]);
  }
  try {
    c_.optimizer->zero_grad();
    const double denominator = static_cast<double>(std::max<int64_t>(rec.predicted_tokens, 1));
    double loss_sum = 0;
    for (const Batch& batch : batches) {
      at::Tensor summed;
      {
        model::CpuAutocast autocast(options_.bf16_autocast);
        auto loss = c_.loss(batch);
        if (!loss.ok()) return loss.status();
        summed = *std::move(loss);
      }
      loss_sum += summed.item<double>();
      (summed / denominator).backward();
    }
    if (c_.data_parallel != nullptr) {
      std::vector<double> sum = {loss_sum};
      if (absl::Status s = c_.data_parallel->SumValues(sum); !s.ok()) return s;
      loss_sum = sum[0];
      if (absl::Status s = c_.data_parallel->SumGradients(c_.parameters); !s.ok()) return s;
    }
    rec.loss = loss_sum / denominator;
    // Global L2 norm of all gradients, in fp32.
    std::vector<at::Tensor> norms;
    for (const at::Tensor& p : c_.parameters) {
      if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm());
    }
    rec.grad_norm = norms.empty() ? 0.0 : at::stack(norms).norm().item<double>();
    if (!std::isfinite(rec.loss) || !std::isfinite(rec.grad_norm)) {
      return absl::InternalError(absl::StrFormat(
          "training diverged at step %d: loss %g, gradient norm %g (learning rate %g); lower learning_rate or "
          "raise warmup_steps",
          rec.step, rec.loss, rec.grad_norm, rec.lr));
    }
    if (options_.grad_clip > 0 && rec.grad_norm > options_.grad_clip) {
      const double scale = options_.grad_clip / (rec.grad_norm + 1e-6);
      for (const at::Tensor& p : c_.parameters) {
        if (p.grad().defined()) p.grad().mul_(scale);
      }
    }
    for (auto& group : c_.optimizer->param_groups()) group.options().set_lr(rec.lr);
    c_.optimizer->step();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("training step ", rec.step, ": ", e.what_without_backtrace()));
  }
  rec.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  rec.tokens_per_second = rec.seconds > 0 ? static_cast<double>(rec.tokens) / rec.seconds : 0;
  return rec;
}

absl::Status TrainLoop::Run(const TaskContext& ctx) {
  if (options_.grad_accumulation < 1 || options_.batch_sequences < 1 ||
      options_.batch_sequences % options_.grad_accumulation != 0) {
    return absl::InvalidArgumentError(absl::StrCat("batch_sequences (", options_.batch_sequences,
                                                   ") must be a positive multiple of grad_accumulation (",
                                                   options_.grad_accumulation, ")"));
  }
  const uint64_t log_every =
      options_.log_every > 0 ? options_.log_every : std::max<uint64_t>(1, options_.total_steps / 20);
  ProgressMeter meter(options_.stage, "steps", options_.total_steps, ctx.report_progress);
  meter.Update(step_);
  while (step_ < options_.total_steps) {
    if (ctx.StopRequested()) {
      absl::Status s = Save();
      if (!s.ok()) return s;
      return absl::CancelledError(absl::StrCat(options_.stage, " stopped at step ", step_, " of ",
                                               options_.total_steps, "; checkpoint saved, rerun to resume"));
    }
    auto rec = Step();
    if (!rec.ok()) return rec.status();
    ++step_;
    tokens_seen_ += static_cast<uint64_t>(rec->tokens);
    elapsed_seconds_ += rec->seconds;
    if (c_.on_step) c_.on_step(*rec);
    meter.Update(step_, {{"loss", rec->loss},
                         {"lr", rec->lr},
                         {"grad_norm", rec->grad_norm},
                         {"tokens_per_s", rec->tokens_per_second}});
    if (step_ % log_every == 0 || step_ == options_.total_steps) {
      ctx.Info(absl::StrFormat("%s step %d/%d: loss %.4f, lr %.3g, grad norm %.3f, %.0f tokens/s",
                               options_.stage, step_, options_.total_steps, rec->loss, rec->lr, rec->grad_norm,
                               rec->tokens_per_second));
    }
    if (options_.checkpoint_interval > 0 && step_ % options_.checkpoint_interval == 0 &&
        step_ < options_.total_steps) {
      absl::Status s = Save();
      if (!s.ok()) return s;
    }
  }
  return Save();
}

}  // namespace nmoe::trainer
