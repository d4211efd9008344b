// report JOB [--dir DIR]: a finished pipeline's report (Markdown). With --dir it
// also writes DIR/report.md and the SVG figures the Markdown links to, replacing
// files of the same names atomically (write to a temporary name, then rename).
// -o json prints the Report message.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/format.h"

namespace nmoe::cli {
namespace {

absl::Status WriteFileAtomically(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp.string()));
    out << content;
    out.flush();
    if (!out) return absl::DataLossError(absl::StrCat("writing ", tmp.string(), " failed"));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

// A figure name from the server must stay inside the folder.
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != ".." &&
         name.find('\0') == std::string::npos;
}

absl::StatusOr<int> RunReport(Session& session, const std::string& job_id, const std::string& dir) {
  nmoe::v1::GetReportRequest request;
  request.set_job_id(job_id);
  Client& client = session.client();
  absl::StatusOr<nmoe::v1::Report> report =
      client.Call(client.results(), &nmoe::v1::ResultsService::Stub::GetReport, request);
  if (!report.ok()) return report.status();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    for (const auto& figure : report->figures()) {
      if (!IsPlainFileName(figure.file_name())) {
        return absl::DataLossError(absl::StrCat("the report names a figure '", figure.file_name(),
                                                "' that is not a plain file name"));
      }
      if (auto s = WriteFileAtomically(std::filesystem::path(dir) / figure.file_name(), figure.svg()); !s.ok()) {
        return s;
      }
    }
    const auto md = std::filesystem::path(dir) / "report.md";
    if (auto s = WriteFileAtomically(md, report->markdown()); !s.ok()) return s;
    session.err() << fmt::format("wrote {} and {} figure(s)\n", md.string(), report->figures_size());
  }
  absl::StatusOr<nlohmann::ordered_json> json = MessageToJsonValue(*report);
  if (!json.ok()) return json.status();
  if (absl::Status s = session.PrintDocument(*json, report->markdown()); !s.ok()) return s;
  return kExitOk;
}

}  // namespace

void AddReportCommand(CLI::App& root, CommandTable& table) {
  auto job_id = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  CLI::App* report = root.add_subcommand("report", "Print a finished pipeline's report (Markdown)");
  report->add_option("job", *job_id, "Pipeline job id")->required();
  report->add_option("--dir", *dir, "Also write report.md and its SVG figures into this folder");
  table.Add(report, [job_id, dir](Session& session) { return RunReport(session, *job_id, *dir); });
}

}  // namespace nmoe::cli
