// tokenize --tokenizer PATH [--add-special-tokens] [--decode [--skip-special-tokens]]
// Local, no server: text lines on stdin -> one JSON array of ids per line;
// with --decode, JSON arrays of ids -> text (one line each; -o json prints
// JSON strings, so texts holding newlines stay one line).
#include <fmt/format.h>

#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "tokenizer/tokenizer.h"

namespace nmoe::cli {
namespace {

struct TokenizeFlags {
  std::string tokenizer;
  bool add_special_tokens = false;
  bool decode = false;
  bool skip_special_tokens = false;
};

constexpr size_t kFlushBytes = 1 << 20;

absl::StatusOr<std::vector<int32_t>> ParseIdLine(const std::string& line, size_t number) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) {
    return UsageError(fmt::format("line {}: expected a JSON array of token ids, got {:.80}", number,
                                  line.empty() ? "an empty line" : line));
  }
  std::vector<int32_t> ids;
  ids.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& v = j[i];
    if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
      return UsageError(fmt::format("line {}: element {} is not an integer token id: {}", number, i, v.dump()));
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

absl::StatusOr<int> RunTokenize(Session& session, const TokenizeFlags& flags) {
  if (session.output() != OutputFormat::kTable && session.output() != OutputFormat::kJson) {
    return UsageError("tokenize prints JSON arrays or text: -o must be table or json");
  }
  if (flags.skip_special_tokens && !flags.decode) return UsageError("--skip-special-tokens needs --decode");
  if (flags.add_special_tokens && flags.decode) return UsageError("--add-special-tokens only applies when encoding");
  absl::StatusOr<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::FromFile(flags.tokenizer);
  if (!tok.ok()) return UsageError(std::string(tok.status().message()));
  std::istream& in = session.in();
  std::string line;
  std::string out;
  std::vector<int32_t> ids;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (flags.decode) {
      absl::StatusOr<std::vector<int32_t>> parsed = ParseIdLine(line, number);
      if (!parsed.ok()) return parsed.status();
      absl::StatusOr<std::string> text = tok->Decode(*parsed, flags.skip_special_tokens);
      if (!text.ok()) return UsageError(fmt::format("line {}: {}", number, std::string(text.status().message())));
      out += session.output() == OutputFormat::kJson ? nlohmann::json(*text).dump() : *text;
    } else {
      ids.clear();
      tok->EncodeTo(line, flags.add_special_tokens, &ids);
      out += '[';
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out += ',';
        fmt::format_to(std::back_inserter(out), "{}", ids[i]);
      }
      out += ']';
    }
    out += '\n';
    if (out.size() >= kFlushBytes) {
      session.out() << out;
      out.clear();
    }
  }
  session.out() << out << std::flush;
  if (in.bad()) return UsageError(fmt::format("error reading standard input after line {}", number));
  return kExitOk;
}

}  // namespace

void AddTokenizeCommand(CLI::App& root, CommandTable& table) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* cmd = root.add_subcommand(
      "tokenize",
      "Encode text lines from stdin to JSON arrays of token ids (or --decode them back) with a "
      "Hugging Face tokenizer.json; runs locally");
  cmd->add_option("--tokenizer", flags->tokenizer, "Path of tokenizer.json")->required();
  cmd->add_flag("--add-special-tokens", flags->add_special_tokens,
                "Apply the tokenizer's post-processor template (e.g. Llama-3.2's BOS)");
  cmd->add_flag("--decode", flags->decode, "Read JSON arrays of ids, print the text of each");
  cmd->add_flag("--skip-special-tokens", flags->skip_special_tokens, "With --decode: drop special tokens");
  table.Add(cmd, [flags](Session& session) { return RunTokenize(session, *flags); });
}

}  // namespace nmoe::cli
