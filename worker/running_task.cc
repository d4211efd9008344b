#include "worker/running_task.h"

#include <spdlog/spdlog.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace nmoe::worker {
namespace {

// c10::Error::what() appends LibTorch's backtrace ("Exception raised from ...")
// to the message: keep the message only (this file stays torch-free).
std::string WithoutBacktrace(const char* what) {
  std::string text(what);
  const size_t cut = text.find("Exception raised from ");
  if (cut != std::string::npos) text.resize(cut);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

constexpr char kFailReasonUrl[] = "type.nmoe.dev/FailTask.reason";

}  // namespace

absl::Status WithFailReason(absl::Status status, const std::string& reason) {
  if (!status.ok()) status.SetPayload(kFailReasonUrl, absl::Cord(reason));
  return status;
}

std::string FailReason(const absl::Status& status) {
  const auto reason = status.GetPayload(kFailReasonUrl);  // absl::optional (not std:: in Debian's abseil)
  return reason ? std::string(*reason) : std::string();
}

RunningTask::RunningTask(v1::Task task, std::unique_ptr<Task> impl, std::filesystem::path work_dir,
                         std::unique_ptr<ResultSink> results, std::function<void()> on_done,
                         size_t max_buffered_logs)
    : task_(std::move(task)),
      impl_(std::move(impl)),
      results_(std::move(results)),
      on_done_(std::move(on_done)),
      max_buffered_logs_(max_buffered_logs) {
  ctx_.task = task_;
  ctx_.work_dir = std::move(work_dir);
  ctx_.stop = &stop_;
  ctx_.results = results_.get();
  ctx_.report_progress = [this](const v1::Progress& p) {
    std::lock_guard lock(mu_);
    progress_ = p;
  };
  ctx_.log = [this](v1::LogLevel level, const std::string& text) {
    spdlog::info("[{}] {}", task_.id(), text);
    std::lock_guard lock(mu_);
    v1::LogLine line;
    line.set_level(level);
    line.set_text(text);
    logs_.push_back(std::move(line));
    while (logs_.size() > max_buffered_logs_) {
      logs_.pop_front();
      ++dropped_logs_;
    }
  };
  thread_ = std::thread([this] { Main(); });
}

RunningTask::~RunningTask() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void RunningTask::Main() {
  absl::Status status;
  try {
    status = impl_->Run(ctx_);
  } catch (const std::exception& e) {  // c10::Error included
    status = absl::InternalError(absl::StrCat("exception: ", WithoutBacktrace(e.what())));
  } catch (...) {
    status = absl::InternalError("unknown exception");
  }
  {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  done_.store(true);
  if (on_done_) on_done_();
}

absl::Status RunningTask::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

RunningTask::Report RunningTask::Take(size_t max_lines) {
  std::lock_guard lock(mu_);
  Report report;
  report.progress = std::move(progress_);
  progress_.reset();
  while (!logs_.empty() && report.logs.size() < max_lines) {
    report.logs.push_back(std::move(logs_.front()));
    logs_.pop_front();
  }
  report.dropped_logs = dropped_logs_;
  dropped_logs_ = 0;
  return report;
}

bool RunningTask::HasPendingReport() const {
  std::lock_guard lock(mu_);
  return progress_.has_value() || !logs_.empty() || dropped_logs_ > 0;
}

}  // namespace nmoe::worker
