#include "tests/coordinator/durability_ledger.h"

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "coordinator/job_states.h"
#include "storage/job_store.h"

namespace nmoe::testing {
namespace {

constexpr size_t kMaxProblems = 40;

std::string Name(v1::JobState state) { return coordinator::StateName(state); }

}  // namespace

bool Reachable(v1::JobState from, v1::JobState to) {
  std::set<v1::JobState> seen{from};
  std::vector<v1::JobState> frontier{from};
  while (!frontier.empty()) {
    const v1::JobState s = frontier.back();
    frontier.pop_back();
    if (s == to) return true;
    for (int next = v1::JobState_MIN; next <= v1::JobState_MAX; ++next) {
      const auto n = static_cast<v1::JobState>(next);
      if (v1::JobState_IsValid(next) && coordinator::IsAllowedTransition(s, n) && seen.insert(n).second) {
        frontier.push_back(n);
      }
    }
  }
  return false;
}

void DurabilityLedger::AckJob(const std::string& job_id, const Submission& submission, bool created) {
  std::lock_guard lock(mu_);
  jobs_[job_id] = submission;
  ++(created ? counts_.submits : counts_.found_unacked);
}

void DurabilityLedger::AckState(const std::string& job_id, std::set<v1::JobState> states) {
  std::lock_guard lock(mu_);
  states_[job_id].push_back(std::move(states));
}

void DurabilityLedger::AckWorker(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  workers_.insert(worker_id);
  ++counts_.registrations;
}

void DurabilityLedger::AddUnknown(Submission submission) {
  std::lock_guard lock(mu_);
  unknown_.push_back(std::move(submission));
}

bool DurabilityLedger::TakeUnknown(uint64_t pick, Submission* out) {
  std::lock_guard lock(mu_);
  if (unknown_.empty()) return false;
  const size_t i = pick % unknown_.size();
  *out = std::move(unknown_[i]);
  unknown_[i] = std::move(unknown_.back());
  unknown_.pop_back();
  return true;
}

void DurabilityLedger::Count(int64_t LedgerCounts::*field, int64_t n) {
  std::lock_guard lock(mu_);
  counts_.*field += n;
}

LedgerCounts DurabilityLedger::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

size_t DurabilityLedger::acknowledged_jobs() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

std::vector<std::string> DurabilityLedger::CheckStore(storage::KvStore& kv, std::set<std::string>* stored_ids) const {
  std::vector<std::string> problems;
  auto problem = [&](std::string line) {
    if (problems.size() < kMaxProblems) problems.push_back(std::move(line));
  };
  storage::JobStore store(&kv);
  std::map<std::string, v1::Job> stored;
  if (auto s = store.ForEachJob([&](v1::Job job) {
        const std::string id = job.id();
        stored.emplace(id, std::move(job));
        return absl::OkStatus();
      });
      !s.ok()) {
    problem(absl::StrCat("cannot read the jobs: ", s.ToString()));
    return problems;
  }
  // Every stored job: a legal state reached by a dense event log of allowed
  // transitions, and an idempotency key that names it alone.
  std::map<std::string, std::string> job_of_key;
  for (const auto& [id, job] : stored) {
    if (!v1::JobState_IsValid(job.state()) || job.state() == v1::JOB_STATE_UNSPECIFIED) {
      problem(absl::StrCat(id, ": illegal state ", job.state()));
    }
    auto events = store.ListEvents(id, 1, 0);
    if (!events.ok()) {
      problem(absl::StrCat(id, ": cannot read events: ", events.status().ToString()));
      continue;
    }
    if (events->size() != job.last_event_seq()) {
      problem(absl::StrCat(id, ": ", events->size(), " events stored, last_event_seq ", job.last_event_seq()));
    }
    v1::JobState state = v1::JOB_STATE_UNSPECIFIED;
    for (size_t i = 0; i < events->size(); ++i) {
      const v1::JobEvent& e = (*events)[i];
      if (e.seq() != i + 1) problem(absl::StrCat(id, ": event ", i + 1, " has seq ", e.seq()));
      if (!e.has_state_change()) continue;
      const auto& t = e.state_change();
      const bool allowed = state == v1::JOB_STATE_UNSPECIFIED ? t.to() == v1::JOB_STATE_PENDING
                                                               : coordinator::IsAllowedTransition(state, t.to());
      if (t.from() != state || !allowed) {
        problem(absl::StrCat(id, ": event ", e.seq(), " goes ", Name(t.from()), " -> ", Name(t.to()), " after ",
                             Name(state)));
      }
      state = t.to();
    }
    if (state != job.state()) {
      problem(absl::StrCat(id, ": state ", Name(job.state()), " but its events end in ", Name(state)));
    }
    if (job.idempotency_key().empty()) continue;
    auto [it, fresh] = job_of_key.emplace(job.idempotency_key(), id);
    if (!fresh) problem(absl::StrCat("idempotency key ", job.idempotency_key(), " has jobs ", it->second, " and ", id));
    auto indexed = store.FindJobByIdempotencyKey(job.idempotency_key());
    if (!indexed.ok() || !indexed->has_value() || **indexed != id) {
      problem(absl::StrCat(id, ": idempotency key ", job.idempotency_key(), " does not name it"));
    }
  }

  std::lock_guard lock(mu_);
  for (const auto& [id, submission] : jobs_) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      problem(absl::StrCat("LOST: acknowledged job ", id, " (key ", submission.key, ") is not stored"));
      continue;
    }
    if (it->second.idempotency_key() != submission.key ||
        !google::protobuf::util::MessageDifferencer::Equals(it->second.spec(), submission.spec)) {
      problem(absl::StrCat(id, ": stored spec or key differs from the acknowledged submission ", submission.key));
    }
  }
  for (const auto& [id, acks] : states_) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      problem(absl::StrCat("LOST: job ", id, " had an acknowledged state change but is not stored"));
      continue;
    }
    for (const auto& states : acks) {
      bool ok = false;
      std::string names;
      for (v1::JobState s : states) {
        ok = ok || Reachable(s, it->second.state());
        absl::StrAppend(&names, names.empty() ? "" : "|", Name(s));
      }
      if (!ok) {
        problem(absl::StrCat(id, ": state ", Name(it->second.state()), " cannot follow the acknowledged ", names));
      }
    }
  }
  std::set<std::string> workers;
  if (auto s = store.ForEachWorker([&](v1::Worker w) {
        workers.insert(w.id());
        return absl::OkStatus();
      });
      !s.ok()) {
    problem(absl::StrCat("cannot read the workers: ", s.ToString()));
  }
  for (const auto& id : workers_) {
    if (!workers.count(id)) problem(absl::StrCat("LOST: registered worker ", id, " is not stored"));
  }
  if (stored_ids) {
    stored_ids->clear();
    for (const auto& [id, job] : stored) stored_ids->insert(id);
  }
  return problems;
}

}  // namespace nmoe::testing
