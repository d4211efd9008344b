// Per-RPC Prometheus series, recorded by a gRPC server interceptor:
//   nmoe_rpc_requests_total{service, method, code}
//   nmoe_rpc_duration_seconds{service, method}   (histogram; streams: whole stream)
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace nmoe::coordinator {

class RpcMetricsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(prometheus::Registry& registry);
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

  // Records one finished call. `full_method` is "/package.Service/Method".
  void Record(const char* full_method, grpc::StatusCode code, double seconds);

 private:
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
};

}  // namespace nmoe::coordinator
