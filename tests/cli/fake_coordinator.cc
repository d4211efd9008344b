#include "tests/cli/fake_coordinator.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <thread>

namespace nmoe::cli::testing {
namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
namespace v1 = nmoe::v1;

Status Authorize(FakeState& s, ServerContext* context) {
  auto it = context->client_metadata().find("authorization");
  const std::string value = it == context->client_metadata().end()
                                ? ""
                                : std::string(it->second.data(), it->second.size());
  s.authorization_seen.push_back(value);
  if (s.required_token.empty()) return Status::OK;
  if (value.empty()) return Status(StatusCode::UNAUTHENTICATED, "missing bearer token");
  if (value != "Bearer " + s.required_token) {
    return Status(StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  return Status::OK;
}

v1::Job* FindJob(FakeState& s, const std::string& id) {
  for (v1::Job& job : s.jobs) {
    if (job.id() == id) return &job;
  }
  return nullptr;
}

Status NotFound(const std::string& id) {
  return Status(StatusCode::NOT_FOUND, "job " + id + " not found");
}

// page_token is the decimal offset of the next item.
template <typename T, typename Add>
std::string Page(const std::vector<T>& items, const std::string& token, uint32_t page_size,
                 uint32_t default_size, Add add) {
  const size_t start = token.empty() ? 0 : std::stoul(token);
  const size_t size = page_size == 0 ? default_size : page_size;
  const size_t end = std::min(items.size(), start + size);
  for (size_t i = start; i < end; ++i) add(items[i]);
  return end < items.size() ? std::to_string(end) : "";
}

class Jobs final : public v1::JobService::Service {
 public:
  explicit Jobs(FakeState* s) : s_(*s) {}
  Status SubmitJob(ServerContext* c, const v1::SubmitJobRequest* r,
                   v1::SubmitJobResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    s_.submits.push_back(*r);
    if (auto it = s_.job_by_key.find(r->idempotency_key());
        !r->idempotency_key().empty() && it != s_.job_by_key.end()) {
      *out->mutable_job() = *FindJob(s_, it->second);
      out->set_created(false);
      return Status::OK;
    }
    v1::Job job =
        FakeCoordinator::MakeJob("job-" + std::to_string(s_.jobs.size() + 1), v1::JOB_KIND_PROFILE,
                                 v1::JOB_STATE_PENDING, 1'700'000'000);
    *job.mutable_spec() = r->spec();
    job.set_idempotency_key(r->idempotency_key());
    s_.jobs.insert(s_.jobs.begin(), job);
    if (!r->idempotency_key().empty()) s_.job_by_key[r->idempotency_key()] = job.id();
    *out->mutable_job() = job;
    out->set_created(true);
    return Status::OK;
  }
  Status GetJob(ServerContext* c, const v1::GetJobRequest* r, v1::Job* out) override {
    int delay_ms;
    {
      std::lock_guard lock(s_.mu);
      delay_ms = s_.get_job_delay_ms;
    }
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    v1::Job* job = FindJob(s_, r->job_id());
    if (job == nullptr) return NotFound(r->job_id());
    *out = *job;
    return Status::OK;
  }
  Status ListJobs(ServerContext* c, const v1::ListJobsRequest* r,
                  v1::ListJobsResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    s_.list_requests.push_back(*r);
    if (r->page_size() > 1000) return Status(StatusCode::INVALID_ARGUMENT, "page_size over 1000");
    out->set_next_page_token(Page(s_.jobs, r->page_token(), r->page_size(), 100,
                                  [&](const v1::Job& j) { *out->add_jobs() = j; }));
    return Status::OK;
  }
  Status CancelJob(ServerContext* c, const v1::CancelJobRequest* r, v1::Job* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    s_.cancels.push_back(*r);
    v1::Job* job = FindJob(s_, r->job_id());
    if (job == nullptr) return NotFound(r->job_id());
    job->set_state(v1::JOB_STATE_CANCELLING);
    *out = *job;
    return Status::OK;
  }
  Status WatchJob(ServerContext* c, const v1::WatchJobRequest* r,
                  grpc::ServerWriter<v1::JobEvent>* writer) override {
    std::vector<v1::JobEvent> events;
    int limit = -1;
    grpc::StatusCode break_code;
    {
      std::lock_guard lock(s_.mu);
      if (Status a = Authorize(s_, c); !a.ok()) return a;
      s_.watches.push_back(*r);
      if (FindJob(s_, r->job_id()) == nullptr) return NotFound(r->job_id());
      events = s_.events[r->job_id()];
      if (s_.watch_breaks > 0) {
        --s_.watch_breaks;
        limit = s_.watch_break_after;
      }
      break_code = s_.watch_break_code;
    }
    int sent = 0;
    for (const v1::JobEvent& e : events) {
      if (e.seq() < r->from_seq()) continue;
      if (e.has_progress() && !r->include_progress()) continue;
      if (limit >= 0 && sent == limit) break;
      writer->Write(e);
      ++sent;
    }
    if (limit >= 0) return Status(break_code, "coordinator restarting");
    return Status::OK;
  }
  Status ListJobEvents(ServerContext* c, const v1::ListJobEventsRequest* r,
                       v1::ListJobEventsResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    if (FindJob(s_, r->job_id()) == nullptr) return NotFound(r->job_id());
    const std::vector<v1::JobEvent>& events = s_.events[r->job_id()];
    const uint32_t size = r->page_size() == 0 ? 100 : r->page_size();
    uint64_t next = 0;
    for (const v1::JobEvent& e : events) {
      if (e.seq() < r->from_seq()) continue;
      if (static_cast<uint32_t>(out->events_size()) == size) {
        next = e.seq();
        break;
      }
      *out->add_events() = e;
    }
    out->set_next_seq(next);
    return Status::OK;
  }

 private:
  FakeState& s_;
};

class Workers final : public v1::WorkerService::Service {
 public:
  explicit Workers(FakeState* s) : s_(*s) {}
  Status ListWorkers(ServerContext* c, const v1::ListWorkersRequest*,
                     v1::ListWorkersResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    for (const v1::Worker& w : s_.workers) *out->add_workers() = w;
    return Status::OK;
  }

 private:
  FakeState& s_;
};

class Results final : public v1::ResultsService::Service {
 public:
  explicit Results(FakeState* s) : s_(*s) {}
  Status GetPlan(ServerContext* c, const v1::GetPlanRequest* r, v1::Plan* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    for (const v1::Plan& p : s_.plans) {
      if (p.id() == r->plan_id()) {
        *out = p;
        return Status::OK;
      }
    }
    return Status(StatusCode::NOT_FOUND, "plan " + r->plan_id() + " not found");
  }
  Status ListPlans(ServerContext* c, const v1::ListPlansRequest* r,
                   v1::ListPlansResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    std::vector<v1::Plan> matching;
    for (const v1::Plan& p : s_.plans) {
      if (r->job_id().empty() || p.job_id() == r->job_id()) matching.push_back(p);
    }
    out->set_next_page_token(Page(matching, r->page_token(), r->page_size(), 100,
                                  [&](const v1::Plan& p) { *out->add_plans() = p; }));
    return Status::OK;
  }
  Status QueryNeurons(ServerContext* c, const v1::QueryNeuronsRequest* r,
                      v1::QueryNeuronsResponse* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    s_.neuron_requests.push_back(*r);
    out->set_next_page_token(Page(s_.neurons, r->page_token(), r->page_size(), 1000,
                                  [&](const v1::NeuronStat& n) { *out->add_neurons() = n; }));
    return Status::OK;
  }

 private:
  FakeState& s_;
};

class Info final : public v1::InfoService::Service {
 public:
  explicit Info(FakeState* s) : s_(*s) {}
  Status GetServerInfo(ServerContext* c, const v1::GetServerInfoRequest*,
                       v1::ServerInfo* out) override {
    std::lock_guard lock(s_.mu);
    if (Status a = Authorize(s_, c); !a.ok()) return a;
    out->set_version("9.8.7");
    out->set_git_commit("abcdef");
    out->mutable_start_time()->set_seconds(1'700'000'000 - 3600);
    out->set_auth_required(!s_.required_token.empty());
    return Status::OK;
  }

 private:
  FakeState& s_;
};

}  // namespace

FakeCoordinator::FakeCoordinator() : state_(std::make_unique<FakeState>()) {
  grpc::EnableDefaultHealthCheckService(true);
  services_.push_back(std::make_unique<Jobs>(state_.get()));
  services_.push_back(std::make_unique<Workers>(state_.get()));
  services_.push_back(std::make_unique<Results>(state_.get()));
  services_.push_back(std::make_unique<Info>(state_.get()));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  for (auto& service : services_) builder.RegisterService(service.get());
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeCoordinator::~FakeCoordinator() { server_->Shutdown(); }

void FakeCoordinator::SetServing(bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

v1::Job FakeCoordinator::MakeJob(const std::string& id, v1::JobKind kind, v1::JobState state,
                                 int64_t now_seconds) {
  v1::Job job;
  job.set_id(id);
  job.set_kind(kind);
  job.set_state(state);
  job.mutable_create_time()->set_seconds(now_seconds - 90);
  job.mutable_update_time()->set_seconds(now_seconds - 5);
  job.set_attempt(1);
  job.set_max_restarts(3);
  return job;
}

}  // namespace nmoe::cli::testing
