#include "cli/session.h"

#include "cli/errors.h"

namespace nmoe::cli {

absl::Status Session::Resolve(const GlobalFlags& flags) {
  absl::StatusOr<GlobalOptions> options = ResolveGlobalOptions(flags, io_.env);
  if (!options.ok()) return options.status();
  options_ = *std::move(options);
  return absl::OkStatus();
}

Client& Session::client() {
  if (client_ == nullptr) client_ = Client::Create(options_.connection);
  return *client_;
}

absl::Status Session::Print(const google::protobuf::Message& message, const Table& table) {
  switch (output()) {
    case OutputFormat::kTable: out() << RenderTable(table); break;
    case OutputFormat::kCsv: out() << RenderCsv(table); break;
    default: {
      absl::StatusOr<std::string> text = RenderMessage(message, output());
      if (!text.ok()) return text.status();
      out() << *text;
    }
  }
  out().flush();
  return absl::OkStatus();
}

absl::Status Session::PrintDocument(const nlohmann::ordered_json& value, const std::string& text) {
  switch (output()) {
    case OutputFormat::kTable: out() << text; break;
    case OutputFormat::kCsv: return UsageError("-o csv is not supported by this command");
    default: {
      absl::StatusOr<std::string> rendered = RenderValue(value, output());
      if (!rendered.ok()) return rendered.status();
      out() << *rendered;
    }
  }
  out().flush();
  return absl::OkStatus();
}

absl::Status Session::RequireNotCsv(const std::string& command) const {
  if (output() == OutputFormat::kCsv) {
    return UsageError(command + ": -o csv is not supported; use table, json or yaml");
  }
  return absl::OkStatus();
}

}  // namespace nmoe::cli
