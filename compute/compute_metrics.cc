#include "compute/compute_metrics.h"

#include <prometheus/gauge.h>

namespace nmoe::compute {

void RegisterComputeMetrics(prometheus::Registry& registry, const ComputeInfo& info) {
  prometheus::BuildGauge()
      .Name("nmoe_compute_info")
      .Help("CPU, BLAS library and kernel family of this process; the value is always 1.")
      .Register(registry)
      .Add({{"cpu_model", info.cpu.model},
            {"cpu_isa", IsaLevelName(info.cpu.isa_level())},
            {"blas", BlasKindName(info.blas.kind)},
            {"blas_version", info.blas.version},
            {"kernel", info.blas.corename},
            {"kernel_action", info.kernels.action}})
      .Set(1);

  auto& gflops = prometheus::BuildGauge()
                     .Name("nmoe_compute_gemm_gflops")
                     .Help("GEMM throughput measured at start, GFLOP/s, by dtype; mean over the window and best single product.")
                     .Register(registry);
  for (const auto* rate : {&info.fp32, &info.bf16}) {
    if (!rate->has_value()) continue;
    const std::string dtype = ComputeDtypeName((*rate)->dtype);
    gflops.Add({{"dtype", dtype}, {"stat", "mean"}}).Set((*rate)->gflops);
    gflops.Add({{"dtype", dtype}, {"stat", "best"}}).Set((*rate)->best_gflops);
  }

  auto& threads = prometheus::BuildGauge()
                      .Name("nmoe_compute_threads")
                      .Help("Threads of LibTorch's intra-op and inter-op pools and of the BLAS.")
                      .Register(registry);
  threads.Add({{"pool", "intra_op"}}).Set(info.threads.intra_op);
  threads.Add({{"pool", "inter_op"}}).Set(info.threads.inter_op);
  threads.Add({{"pool", "blas"}}).Set(info.threads.blas);

  auto& cpus = prometheus::BuildGauge()
                   .Name("nmoe_compute_cpus")
                   .Help("CPUs online on the machine and usable by this process (affinity, cgroup quota).")
                   .Register(registry);
  cpus.Add({{"kind", "online"}}).Set(info.cpu.online_cpus);
  cpus.Add({{"kind", "usable"}}).Set(info.cpu.usable_cpus);

  auto& features = prometheus::BuildGauge()
                       .Name("nmoe_compute_cpu_feature")
                       .Help("1 when the CPU implements the feature and the OS enabled its state.")
                       .Register(registry);
  features.Add({{"feature", "avx2"}}).Set(info.cpu.avx2_usable() ? 1 : 0);
  features.Add({{"feature", "avx512"}}).Set(info.cpu.avx512_usable() ? 1 : 0);
  features.Add({{"feature", "avx512_bf16"}}).Set(info.cpu.avx512_bf16_usable() ? 1 : 0);
  features.Add({{"feature", "amx_bf16"}}).Set(info.cpu.amx_bf16_usable() ? 1 : 0);

  if (info.kernels.self_checked) {
    prometheus::BuildGauge()
        .Name("nmoe_compute_blas_self_check_rel_error")
        .Help("Worst normwise relative error of the start-up fp32 GEMM self-check against float64.")
        .Register(registry)
        .Add({})
        .Set(info.kernels.self_check.max_rel_error);
  }
}

}  // namespace nmoe::compute
