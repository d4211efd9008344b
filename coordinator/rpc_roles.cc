#include "coordinator/rpc_roles.h"

namespace nmoe::coordinator {
namespace {

constexpr RoleSet kEveryone{Role::kAdmin, Role::kSubmitter, Role::kViewer, Role::kWorker};
// People reading jobs and results (workers never need jobs' views).
constexpr RoleSet kReaders{Role::kAdmin, Role::kSubmitter, Role::kViewer};
// Changing jobs: submit, cancel.
constexpr RoleSet kSubmitters{Role::kAdmin, Role::kSubmitter};
// The worker protocol: leases, results and the gangs' rendezvous keys.
constexpr RoleSet kWorkers{Role::kAdmin, Role::kWorker};

}  // namespace

const std::vector<std::pair<std::string_view, RoleSet>>& RpcRoleTable() {
  static const auto* table = new std::vector<std::pair<std::string_view, RoleSet>>{
      {"nmoe.v1.JobService.SubmitJob", kSubmitters},
      {"nmoe.v1.JobService.GetJob", kReaders},
      {"nmoe.v1.JobService.ListJobs", kReaders},
      {"nmoe.v1.JobService.CancelJob", kSubmitters},
      {"nmoe.v1.JobService.WatchJob", kReaders},
      {"nmoe.v1.JobService.ListJobEvents", kReaders},

      {"nmoe.v1.WorkerService.RegisterWorker", kWorkers},
      {"nmoe.v1.WorkerService.Heartbeat", kWorkers},
      {"nmoe.v1.WorkerService.LeaseTask", kWorkers},
      {"nmoe.v1.WorkerService.ReportProgress", kWorkers},
      {"nmoe.v1.WorkerService.CompleteTask", kWorkers},
      {"nmoe.v1.WorkerService.FailTask", kWorkers},
      {"nmoe.v1.WorkerService.DeregisterWorker", kWorkers},
      {"nmoe.v1.WorkerService.ListWorkers", kEveryone},
      {"nmoe.v1.WorkerService.PutNeuronStats", kWorkers},
      {"nmoe.v1.WorkerService.PutProfileSummary", kWorkers},
      {"nmoe.v1.WorkerService.PutPlan", kWorkers},
      {"nmoe.v1.WorkerService.PutEvaluation", kWorkers},
      {"nmoe.v1.WorkerService.KvSet", kWorkers},
      {"nmoe.v1.WorkerService.KvGet", kWorkers},
      {"nmoe.v1.WorkerService.KvWait", kWorkers},
      {"nmoe.v1.WorkerService.KvAdd", kWorkers},

      // Workers read plans, profile summaries and evaluations of earlier jobs
      // (common/result_sink.h), so results are readable by every role.
      {"nmoe.v1.ResultsService.GetPlan", kEveryone},
      {"nmoe.v1.ResultsService.ListPlans", kEveryone},
      {"nmoe.v1.ResultsService.QueryNeurons", kEveryone},
      {"nmoe.v1.ResultsService.GetProfileSummary", kEveryone},
      {"nmoe.v1.ResultsService.GetEvaluation", kEveryone},
      {"nmoe.v1.ResultsService.GetReport", kEveryone},

      {"nmoe.v1.InfoService.GetServerInfo", kEveryone},
  };
  return *table;
}

std::optional<RoleSet> RolesAllowed(std::string_view method) {
  for (const auto& [name, roles] : RpcRoleTable()) {
    if (name == method) return roles;
  }
  return std::nullopt;
}

}  // namespace nmoe::coordinator
