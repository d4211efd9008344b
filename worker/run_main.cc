// nmoe-run: runs one job file in this process (no coordinator, one worker).
//   nmoe-run examples/jobs/pretrain.yaml [--work-dir DIR]
// Exit codes: 0 done, 1 failed, 2 usage or invalid spec, 3 stopped (SIGINT/SIGTERM).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>

#include "CLI/CLI.hpp"
#include "cli/job_file.h"
#include "compute/blas_kernels.h"
#include "compute/compute_info.h"
#include "worker/local_run.h"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  const auto kernels = nmoe::compute::EnsureBestBlasKernels(argc, argv);  // may re-exec this process
  CLI::App app{"nmoe-run: run one nmoe job in this process"};
  std::string job_file;
  nmoe::worker::LocalRunOptions options;
  int threads = 0;
  app.add_option("job_file", job_file, "Job spec (YAML or JSON, as for nmoectl submit)")->required();
  app.add_option("--work-dir", options.work_dir, "Relative paths in the spec resolve here")->capture_default_str();
  app.add_option("--threads", threads, "Intra-op threads (0 = all usable cores)");
  CLI11_PARSE(app, argc, argv);

  auto spec = nmoe::cli::ReadJobFile(job_file);
  if (!spec.ok()) {
    std::cerr << "nmoe-run: " << spec.status().message() << "\n";
    return 2;
  }
  if (threads > 0) spec->mutable_resources()->set_threads_per_worker(threads);
  nmoe::compute::ComputeOptions compute;
  compute.threads.intra_op = static_cast<int>(spec->resources().threads_per_worker());
  auto info = nmoe::compute::InitCompute(kernels, compute);
  if (!info.ok()) {
    std::cerr << "nmoe-run: " << info.status() << "\n";
    return 1;
  }
  options.progress_bar = isatty(STDERR_FILENO) != 0;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const absl::Status status =
      nmoe::worker::RunLocally(*spec, nmoe::worker::BuiltinTasks(), options, &g_stop, std::cerr);
  if (status.ok()) return 0;
  std::cerr << "nmoe-run: " << status << "\n";
  if (absl::IsInvalidArgument(status) || absl::IsUnimplemented(status)) return 2;
  return absl::IsCancelled(status) ? 3 : 1;
}
