#include "tokenizer/split_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tokenizer/unicode_extra.h"
#include "tokenizer/utf8.h"

namespace nmoe::tokenizer {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

absl::Status Unsupported(std::string_view what, size_t offset, std::string_view pattern) {
  return absl::UnimplementedError(absl::StrCat("pre-tokenizer regex: ", std::string(what),
                                               " at offset ", offset, " is not supported in '",
                                               std::string(pattern), "'"));
}

// The PCRE2 text for \p{name} / \P{name}; `in_class` when inside [...].
std::string PropertyEscape(bool negated, const std::string& name, bool in_class) {
  const char* extra = name == "L" ? kExtraLetters : name == "N" ? kExtraNumbers : nullptr;
  const std::string plain = absl::StrCat(negated ? "\\P{" : "\\p{", name, "}");
  if (extra == nullptr) return plain;
  if (in_class) return negated ? plain : absl::StrCat(plain, extra);
  return absl::StrCat(negated ? "[^" : "[", "\\p{", name, "}", extra, "]");
}

// An escape sequence starting at pattern[i] == '\\'; appends its translation
// and returns the index after it.
absl::StatusOr<size_t> TranslateEscape(std::string_view pattern, size_t i, bool in_class,
                                       std::string* out) {
  if (i + 1 >= pattern.size()) return Unsupported("a trailing backslash", i, pattern);
  const char c = pattern[i + 1];
  switch (c) {
    case 's':
      out->append("\\p{White_Space}");
      return i + 2;
    case 'S':
      out->append("\\P{White_Space}");
      return i + 2;
    case 'p':
    case 'P': {
      if (i + 2 < pattern.size() && pattern[i + 2] == '{') {
        const size_t close = pattern.find('}', i + 3);
        if (close == std::string_view::npos) return Unsupported("an unclosed \\p{", i, pattern);
        std::string name(pattern.substr(i + 3, close - i - 3));
        out->append(PropertyEscape(c == 'P', name, in_class));
        return close + 1;
      }
      out->append(pattern.substr(i, 3));
      return i + 3;
    }
    case 'w': case 'W': case 'b': case 'B': case 'h': case 'H':
    case 'G': case 'X': case 'R': case 'K':
      return Unsupported(absl::StrCat("\\", std::string(1, c)), i, pattern);
    default: {
      // Copy the escape and, for a multi-byte character, all of its bytes.
      size_t end = i + 2;
      while (end < pattern.size() && (static_cast<unsigned char>(pattern[end]) & 0xC0) == 0x80) ++end;
      out->append(pattern.substr(i, end - i));
      return end;
    }
  }
}

std::string EscapeLiteral(std::string_view literal) {
  std::string out;
  for (const char c : literal) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !((c >= '0' && c <= '9') || IsAsciiLetter(c))) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return std::string(reinterpret_cast<const char*>(buffer));
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

// One match data per thread, reused across calls (only ovector[0..1] is read).
pcre2_match_data* ThreadMatchData() {
  thread_local std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create(8, nullptr));
  return md.get();
}

}  // namespace

absl::StatusOr<std::string> TranslateOnigurumaPattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 2);
  // Open groups: true for a (?i:...) group.
  std::vector<bool> groups;
  int caseless = 0;
  bool in_class = false;
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      NMOE_ASSIGN_OR_RETURN(i, TranslateEscape(pattern, i, in_class, &out));
      continue;
    }
    if (in_class) {
      if (c == '[') {
        if (i + 1 < pattern.size() && pattern[i + 1] == ':') {  // POSIX [:name:]
          const size_t close = pattern.find(":]", i + 2);
          if (close == std::string_view::npos) return Unsupported("an unclosed [:", i, pattern);
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 2;
          continue;
        }
        return Unsupported("a nested character class", i, pattern);
      }
      if (c == '&' && i + 1 < pattern.size() && pattern[i + 1] == '&') {
        return Unsupported("a class intersection &&", i, pattern);
      }
      if (c == ']') in_class = false;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '[') {
      if (caseless > 0) return Unsupported("a character class inside (?i:...)", i, pattern);
      in_class = true;
      out.push_back(c);
      ++i;
      // A ']' right after '[' or '[^' is a literal.
      if (i < pattern.size() && pattern[i] == '^') out.push_back(pattern[i++]);
      if (i < pattern.size() && pattern[i] == ']') out.push_back(pattern[i++]);
      continue;
    }
    if (c == '(') {
      const std::string_view rest = pattern.substr(i);
      if (rest.starts_with("(?i:")) {
        groups.push_back(true);
        ++caseless;
        out.append("(?:");
        i += 4;
        continue;
      }
      if (rest.starts_with("(?") && rest.size() > 2) {
        const char k = rest[2];
        const bool lookbehind = k == '<' && rest.size() > 3 && (rest[3] == '=' || rest[3] == '!');
        if (k != ':' && k != '=' && k != '!' && k != '>' && !lookbehind) {
          return Unsupported("this group or inline flag", i, pattern);
        }
      }
      groups.push_back(false);
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == ')') {
      if (!groups.empty()) {
        if (groups.back()) --caseless;
        groups.pop_back();
      }
      out.push_back(c);
      ++i;
      continue;
    }
    if (caseless > 0 && IsAsciiLetter(c)) {
      out.append({'[', Lower(c), Upper(c), ']'});
      ++i;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (in_class) return Unsupported("an unclosed character class", pattern.size(), pattern);
  return out;
}

struct SplitRegex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

SplitRegex::SplitRegex(std::unique_ptr<Code> code, std::string compiled, SplitBehavior behavior)
    : code_(std::move(code)), compiled_pattern_(std::move(compiled)), behavior_(behavior) {}
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;
SplitRegex::~SplitRegex() = default;

absl::StatusOr<SplitRegex> SplitRegex::Compile(std::string_view pattern, bool is_regex,
                                               SplitBehavior behavior) {
  std::string compiled;
  if (is_regex) {
    NMOE_ASSIGN_OR_RETURN(compiled, TranslateOnigurumaPattern(pattern));
  } else {
    if (pattern.empty()) return absl::InvalidArgumentError("Split: the String pattern is empty");
    compiled = EscapeLiteral(pattern);
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  auto code = std::make_unique<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error, &offset, nullptr);
  if (code->code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("pre-tokenizer regex '", std::string(pattern),
                                                   "' does not compile: ", Pcre2Error(error),
                                                   " (at offset ", offset, " of the PCRE2 form '",
                                                   compiled, "')"));
  }
  code->jit = pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE) == 0;
  return SplitRegex(std::move(code), std::move(compiled), behavior);
}

void SplitRegex::Split(std::string_view text, std::vector<std::string_view>* pieces) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  pcre2_match_data* md = ThreadMatchData();
  pcre2_match_context* big_context = nullptr;  // made on a JIT stack overflow
  pcre2_jit_stack* big_stack = nullptr;
  size_t last = 0;  // end of the previous match
  size_t pos = 0;   // where the next search starts
  auto emit = [&](size_t begin, size_t end) {
    if (end > begin) pieces->push_back(text.substr(begin, end - begin));
  };
  while (pos <= n) {
    int rc = code_->jit ? pcre2_jit_match(code_->code, subject, n, pos, 0, md, big_context)
                        : pcre2_match(code_->code, subject, n, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && big_stack == nullptr) {
      big_stack = pcre2_jit_stack_create(1 << 20, 64 << 20, nullptr);
      big_context = pcre2_match_context_create(nullptr);
      if (big_stack != nullptr && big_context != nullptr) {
        pcre2_jit_stack_assign(big_context, nullptr, big_stack);
        continue;  // retry this search with the big stack
      }
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {  // resources exhausted: the rest is one piece
      emit(last, n);
      last = n;
      break;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end == begin) {  // empty match: move on by one code point
      if (begin >= n) break;
      char32_t unused;
      pos = begin + DecodeUtf8(text, begin, &unused);
      continue;
    }
    emit(last, begin);
    if (behavior_ == SplitBehavior::kIsolated) emit(begin, end);
    last = end;
    pos = end;
  }
  emit(last, n);
  if (big_context != nullptr) pcre2_match_context_free(big_context);
  if (big_stack != nullptr) pcre2_jit_stack_free(big_stack);
}

}  // namespace nmoe::tokenizer
