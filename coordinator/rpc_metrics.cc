#include "coordinator/rpc_metrics.h"

#include <chrono>
#include <string>

#include "common/grpc_status.h"

namespace nmoe::coordinator {
namespace {

class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(RpcMetricsInterceptorFactory* factory, const char* method)
      : factory_(factory), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      factory_->Record(method_, methods->GetSendStatus().error_code(), seconds);
    }
    methods->Proceed();
  }

 private:
  RpcMetricsInterceptorFactory* factory_;
  const char* method_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

RpcMetricsInterceptorFactory::RpcMetricsInterceptorFactory(prometheus::Registry& registry)
    : requests_(&prometheus::BuildCounter()
                     .Name("nmoe_rpc_requests_total")
                     .Help("RPCs served, by service, method and gRPC status code.")
                     .Register(registry)),
      durations_(&prometheus::BuildHistogram()
                      .Name("nmoe_rpc_duration_seconds")
                      .Help("Time from the start of an RPC to its status, by service and method.")
                      .Register(registry)) {}

grpc::experimental::Interceptor* RpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RpcMetricsInterceptor(this, info->method());
}

void RpcMetricsInterceptorFactory::Record(const char* full_method, grpc::StatusCode code, double seconds) {
  // "/nmoe.v1.JobService/SubmitJob" -> service "nmoe.v1.JobService", method "SubmitJob".
  const std::string full = full_method ? full_method : "";
  const size_t slash = full.rfind('/');
  const std::string service = slash == std::string::npos || slash == 0 ? "unknown" : full.substr(1, slash - 1);
  const std::string method = slash == std::string::npos ? full : full.substr(slash + 1);
  requests_->Add({{"service", service}, {"method", method}, {"code", GrpcCodeName(code)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  durations_->Add({{"service", service}, {"method", method}}, kBuckets).Observe(seconds);
}

}  // namespace nmoe::coordinator
