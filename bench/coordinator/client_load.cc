// Load: the clients' side (submit, read back, list).
#include "absl/strings/str_cat.h"
#include "bench/coordinator/load.h"

namespace nmoe::bench {

v1::JobSpec BenchSpec(const std::string& name) {
  v1::JobSpec spec;
  spec.set_name(name);
  spec.mutable_resources()->set_num_workers(1);
  auto* profile = spec.mutable_profile();
  profile->mutable_model()->set_path("/bench/model");
  for (const char* lang : {"en", "el"}) {
    auto* corpus = profile->add_corpora();
    corpus->set_language(lang);
    corpus->add_paths(absl::StrCat("/bench/", lang, ".txt"));
  }
  return spec;
}

void Load::ClientLoop(int thread) {
  const bool paced = config_.submit_rate > 0;
  const absl::Duration spacing = paced ? absl::Seconds(config_.clients / config_.submit_rate) : absl::ZeroDuration();
  absl::Time next = absl::Now() + spacing * thread / std::max(1, config_.clients);
  for (uint64_t k = 0; !stop_.load(); ++k) {
    if (paced) {
      absl::Time now = absl::Now();
      while (next > now) {
        absl::SleepFor(std::min(next - now, absl::Milliseconds(10)));
        if (stop_.load()) return;
        now = absl::Now();
      }
      next = std::max(next + spacing, now - absl::Seconds(1));  // bounded catch-up
    }
    const size_t channel = static_cast<size_t>(thread);
    v1::SubmitJobRequest request;
    *request.mutable_spec() = BenchSpec(absl::StrCat("bench-c", thread, "-", k));
    v1::SubmitJobResponse response;
    grpc::ClientContext context;
    pool_->Prepare(context, config_.deadline);
    bool measured = measuring();
    absl::Time start = absl::Now();
    grpc::Status status = pool_->jobs(channel).SubmitJob(&context, request, &response);
    if (measured) stats_.submit.Record(status, absl::Now() - start);
    if (status.ok()) {
      grpc::ClientContext get_context;
      pool_->Prepare(get_context, config_.deadline);
      v1::GetJobRequest get;
      get.set_job_id(response.job().id());
      v1::Job job;
      measured = measuring();
      start = absl::Now();
      status = pool_->jobs(channel).GetJob(&get_context, get, &job);
      if (measured) stats_.get_job.Record(status, absl::Now() - start);
    }
    if (config_.list_every > 0 && k % config_.list_every == 0) {
      grpc::ClientContext list_context;
      pool_->Prepare(list_context, config_.deadline);
      v1::ListJobsRequest list;
      list.set_page_size(20);
      v1::ListJobsResponse jobs;
      measured = measuring();
      start = absl::Now();
      status = pool_->jobs(channel).ListJobs(&list_context, list, &jobs);
      if (measured) stats_.list_jobs.Record(status, absl::Now() - start);
    }
  }
}

}  // namespace nmoe::bench
