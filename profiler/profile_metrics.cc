#include "profiler/profile_metrics.h"

namespace nmoe::profiler {

ProfileMetrics::ProfileMetrics(prometheus::Registry* registry, std::string job_id, int rank, int64_t sentences)
    : registry_(registry) {
  if (registry_ == nullptr) return;
  const prometheus::Labels labels{{"job_id", std::move(job_id)}, {"rank", std::to_string(rank)}};
  prometheus::Registry& r = *registry_;
  sentences_family_ = &prometheus::BuildGauge()
                           .Name("nmoe_profile_sentences")
                           .Help("Sentences the profile task profiles on this worker (its rank's share)")
                           .Register(r);
  done_family_ = &prometheus::BuildGauge()
                      .Name("nmoe_profile_sentences_done")
                      .Help("Sentences of this worker's share forwarded so far")
                      .Register(r);
  tokens_per_second_family_ = &prometheus::BuildGauge()
                                   .Name("nmoe_profile_tokens_per_second")
                                   .Help("Tokens per second of this worker's forward passes since the collection started")
                                   .Register(r);
  sentences_ = &sentences_family_->Add(labels);
  done_ = &done_family_->Add(labels);
  tokens_per_second_ = &tokens_per_second_family_->Add(labels);
  sentences_->Set(static_cast<double>(sentences));
}

ProfileMetrics::~ProfileMetrics() {
  if (registry_ == nullptr) return;
  sentences_family_->Remove(sentences_);
  done_family_->Remove(done_);
  tokens_per_second_family_->Remove(tokens_per_second_);
}

void ProfileMetrics::Record(int64_t sentences_done, uint64_t tokens_done, double seconds) {
  if (registry_ == nullptr) return;
  done_->Set(static_cast<double>(sentences_done));
  if (seconds > 0) tokens_per_second_->Set(static_cast<double>(tokens_done) / seconds);
}

}  // namespace nmoe::profiler
