// gRPC adapters of the coordinator: authenticate, translate, delegate to the
// ControlPlane / ResultsStore / Rendezvous. No business logic lives here.
#pragma once

#include <atomic>

#include "coordinator/admission.h"
#include "coordinator/auth.h"
#include "coordinator/control_plane.h"
#include "nmoe/v1/info_service.grpc.pb.h"
#include "nmoe/v1/jobs_service.grpc.pb.h"
#include "nmoe/v1/results_service.grpc.pb.h"
#include "nmoe/v1/worker_service.grpc.pb.h"
#include "storage/results_store.h"

namespace nmoe::coordinator {

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  JobServiceImpl(ControlPlane* cp, const Authenticator* auth, Admission* admission,
                 const std::atomic<bool>* shutting_down)
      : cp_(cp), auth_(auth), admission_(admission), shutting_down_(shutting_down) {}

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* ctx, const v1::SubmitJobRequest* req,
                                      v1::SubmitJobResponse* resp) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                   v1::Job* resp) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* req,
                                     v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx, const v1::CancelJobRequest* req,
                                      v1::Job* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* ctx,
                                                   const v1::WatchJobRequest* req) override;
  grpc::ServerUnaryReactor* ListJobEvents(grpc::CallbackServerContext* ctx, const v1::ListJobEventsRequest* req,
                                          v1::ListJobEventsResponse* resp) override;

 private:
  ControlPlane* cp_;
  const Authenticator* auth_;
  Admission* admission_;
  const std::atomic<bool>* shutting_down_;
};

class WorkerServiceImpl final : public v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(ControlPlane* cp, storage::ResultsStore* results, const Authenticator* auth, const Clock* clock)
      : cp_(cp), results_(results), auth_(auth), clock_(clock) {}

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* ctx, const v1::RegisterWorkerRequest* req,
                                           v1::RegisterWorkerResponse* resp) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx, const v1::HeartbeatRequest* req,
                                      v1::HeartbeatResponse* resp) override;
  grpc::ServerUnaryReactor* LeaseTask(grpc::CallbackServerContext* ctx, const v1::LeaseTaskRequest* req,
                                      v1::LeaseTaskResponse* resp) override;
  grpc::ServerUnaryReactor* ReportProgress(grpc::CallbackServerContext* ctx, const v1::ReportProgressRequest* req,
                                           v1::ReportProgressResponse* resp) override;
  grpc::ServerUnaryReactor* CompleteTask(grpc::CallbackServerContext* ctx, const v1::CompleteTaskRequest* req,
                                         v1::CompleteTaskResponse* resp) override;
  grpc::ServerUnaryReactor* FailTask(grpc::CallbackServerContext* ctx, const v1::FailTaskRequest* req,
                                     v1::FailTaskResponse* resp) override;
  grpc::ServerUnaryReactor* DeregisterWorker(grpc::CallbackServerContext* ctx,
                                             const v1::DeregisterWorkerRequest* req,
                                             v1::DeregisterWorkerResponse* resp) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* ctx, const v1::ListWorkersRequest* req,
                                        v1::ListWorkersResponse* resp) override;
  grpc::ServerUnaryReactor* PutNeuronStats(grpc::CallbackServerContext* ctx, const v1::PutNeuronStatsRequest* req,
                                           v1::PutNeuronStatsResponse* resp) override;
  grpc::ServerUnaryReactor* PutProfileSummary(grpc::CallbackServerContext* ctx,
                                              const v1::PutProfileSummaryRequest* req,
                                              v1::PutProfileSummaryResponse* resp) override;
  grpc::ServerUnaryReactor* PutPlan(grpc::CallbackServerContext* ctx, const v1::PutPlanRequest* req,
                                    v1::PutPlanResponse* resp) override;
  grpc::ServerUnaryReactor* PutEvaluation(grpc::CallbackServerContext* ctx, const v1::PutEvaluationRequest* req,
                                          v1::PutEvaluationResponse* resp) override;
  grpc::ServerUnaryReactor* KvSet(grpc::CallbackServerContext* ctx, const v1::KvSetRequest* req,
                                  v1::KvSetResponse* resp) override;
  grpc::ServerUnaryReactor* KvGet(grpc::CallbackServerContext* ctx, const v1::KvGetRequest* req,
                                  v1::KvGetResponse* resp) override;
  grpc::ServerUnaryReactor* KvWait(grpc::CallbackServerContext* ctx, const v1::KvWaitRequest* req,
                                   v1::KvWaitResponse* resp) override;
  grpc::ServerUnaryReactor* KvAdd(grpc::CallbackServerContext* ctx, const v1::KvAddRequest* req,
                                  v1::KvAddResponse* resp) override;

 private:
  ControlPlane* cp_;
  storage::ResultsStore* results_;
  const Authenticator* auth_;
  const Clock* clock_;
};

class ResultsServiceImpl final : public v1::ResultsService::CallbackService {
 public:
  ResultsServiceImpl(storage::ResultsStore* results, const Authenticator* auth) : results_(results), auth_(auth) {}

  grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* ctx, const v1::GetPlanRequest* req,
                                    v1::Plan* resp) override;
  grpc::ServerUnaryReactor* ListPlans(grpc::CallbackServerContext* ctx, const v1::ListPlansRequest* req,
                                      v1::ListPlansResponse* resp) override;
  grpc::ServerUnaryReactor* QueryNeurons(grpc::CallbackServerContext* ctx, const v1::QueryNeuronsRequest* req,
                                         v1::QueryNeuronsResponse* resp) override;
  grpc::ServerUnaryReactor* GetProfileSummary(grpc::CallbackServerContext* ctx,
                                              const v1::GetProfileSummaryRequest* req,
                                              v1::ProfileSummary* resp) override;
  grpc::ServerUnaryReactor* GetEvaluation(grpc::CallbackServerContext* ctx, const v1::GetEvaluationRequest* req,
                                          v1::Evaluation* resp) override;
  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* ctx, const v1::GetReportRequest* req,
                                      v1::Report* resp) override;

 private:
  storage::ResultsStore* results_;
  const Authenticator* auth_;
};

class InfoServiceImpl final : public v1::InfoService::CallbackService {
 public:
  InfoServiceImpl(v1::ServerInfo info, const Authenticator* auth) : info_(std::move(info)), auth_(auth) {}
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* ctx, const v1::GetServerInfoRequest* req,
                                          v1::ServerInfo* resp) override;

 private:
  const v1::ServerInfo info_;
  const Authenticator* auth_;
};

}  // namespace nmoe::coordinator
