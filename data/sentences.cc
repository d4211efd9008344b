#include "data/sentences.h"

#include <fstream>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "data/corpus/text_rules.h"
#include "data/hash.h"
#include "data/rng.h"
#include "nlohmann/json.hpp"

namespace nmoe::data {
namespace {

struct CodePoint {
  uint32_t cp;
  size_t begin, end;  // byte range
};

std::vector<CodePoint> Decode(std::string_view s) {
  std::vector<CodePoint> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > s.size()) len = 1;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back({cp, i, i + len});
    i += len;
  }
  return out;
}

bool IsCjkTerminator(uint32_t cp) { return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F; }

bool IsTerminator(uint32_t cp, bool greek) {
  return cp == '.' || cp == '!' || cp == '?' || cp == 0x2026 || IsCjkTerminator(cp) ||
         (greek && (cp == ';' || cp == 0x037E));
}

bool IsCloser(uint32_t cp) {
  switch (cp) {
    case '"': case '\'': case ')': case ']': case 0x201D: case 0x2019: case 0x00BB:
    case 0x300D: case 0x300F: case 0xFF09: case 0x3011:
      return true;
    default:
      return false;
  }
}

bool IsLetter(uint32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
         (cp >= 0x370 && cp <= 0x3FF) || (cp >= 0x400 && cp <= 0x4FF);
}

// Whether a '.' at code point index `dot` (the first of its terminator run) follows an
// abbreviation-like word.
bool AfterAbbreviation(const std::vector<CodePoint>& cps, size_t dot) {
  size_t start = dot;
  while (start > 0 && cps[start - 1].cp != ' ') --start;
  size_t letters = 0;
  bool inner_period = false;
  for (size_t i = start; i < dot; ++i) {
    if (cps[i].cp == '.') inner_period = true;
    if (IsLetter(cps[i].cp)) ++letters;
  }
  return inner_period || (letters == 1 && dot - start == 1);
}

}  // namespace

std::vector<std::string> SplitSentences(std::string_view paragraph, std::string_view lang) {
  const std::string text = NormalizeWhitespace(paragraph);
  const std::vector<CodePoint> cps = Decode(text);
  const bool greek = lang == "el";
  std::vector<std::string> out;
  size_t sentence_begin = 0;  // byte offset
  auto emit = [&](size_t end_byte) {
    std::string s = NormalizeWhitespace(std::string_view(text).substr(sentence_begin, end_byte - sentence_begin));
    if (!s.empty()) out.push_back(std::move(s));
    sentence_begin = end_byte;
  };
  for (size_t i = 0; i < cps.size();) {
    if (!IsTerminator(cps[i].cp, greek)) {
      ++i;
      continue;
    }
    size_t run_begin = i;
    bool cjk = false, only_periods = true;
    while (i < cps.size() && IsTerminator(cps[i].cp, greek)) {
      cjk |= IsCjkTerminator(cps[i].cp);
      only_periods &= cps[i].cp == '.';
      ++i;
    }
    while (i < cps.size() && IsCloser(cps[i].cp)) ++i;
    const bool at_end = i == cps.size();
    const bool space_after = at_end || cps[i].cp == ' ';
    bool boundary = cjk || space_after;
    if (boundary && !cjk && !at_end) {
      // cps[i] is the single space after the run; the next word starts at i + 1.
      uint32_t n = i + 1 < cps.size() ? cps[i + 1].cp : 0;
      bool continues = (n >= 'a' && n <= 'z') || (n >= '0' && n <= '9') || n == '-' || n == 0x2013 || n == 0x2014 ||
                       n == ',' || n == ':';
      bool abbreviation = only_periods && i - run_begin == 1 && AfterAbbreviation(cps, run_begin);
      if (continues || abbreviation) boundary = false;
    }
    if (boundary) emit(at_end ? text.size() : cps[i].begin);
  }
  emit(text.size());
  return out;
}

absl::StatusOr<std::vector<std::string>> SelectSentences(const std::vector<std::string>& paragraphs,
                                                         std::string_view lang, const SentenceSetOptions& options,
                                                         const Encoder* encoder, SentenceSetStats* stats_out) {
  SentenceSetStats stats;
  std::vector<std::string> candidates;
  std::unordered_set<std::string> seen;
  for (const std::string& paragraph : paragraphs) {
    ++stats.paragraphs;
    for (std::string& s : SplitSentences(paragraph, lang)) {
      ++stats.sentences;
      size_t chars = Decode(s).size();
      if (WordUnits(s) < options.min_word_units || chars < options.min_chars || chars > options.max_chars) {
        ++stats.dropped_length;
      } else if (!seen.insert(s).second) {
        ++stats.dropped_duplicate;
      } else {
        candidates.push_back(std::move(s));
      }
    }
  }
  SplitMix64 rng(MixSeed(options.seed, Fnv1a64(lang)));
  Shuffle(&candidates, &rng);
  std::vector<std::string> selected;
  for (std::string& s : candidates) {
    if (selected.size() == options.count) break;
    if (encoder != nullptr && options.max_tokens > 0 && (*encoder)(s).size() > options.max_tokens) {
      ++stats.dropped_tokens;
      continue;
    }
    selected.push_back(std::move(s));
  }
  if (stats_out != nullptr) *stats_out = stats;
  if (selected.size() < options.count && !options.allow_fewer) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only ", selected.size(), " of ", options.count, " sentences for '", std::string(lang), "' (",
        stats.sentences, " split from ", stats.paragraphs, " paragraphs; dropped ", stats.dropped_length,
        " for length, ", stats.dropped_duplicate, " duplicates, ", stats.dropped_tokens, " over ",
        options.max_tokens, " tokens)"));
  }
  return selected;
}

absl::Status WriteSentenceSet(const std::string& path, const std::vector<LabeledSentence>& sentences) {
  std::string content;
  for (const LabeledSentence& s : sentences) {
    absl::StrAppend(&content, nlohmann::json{{"lang", s.lang}, {"text", s.text}}.dump(), "\n");
  }
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot create ", tmp));
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  ok &= std::fclose(f) == 0;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LabeledSentence>> ReadSentenceSet(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<LabeledSentence> out;
  std::string line;
  for (uint64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto where = [&] { return absl::StrCat(path, ":", number, ": "); };
    nlohmann::json v = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded() || !v.is_object()) return absl::InvalidArgumentError(absl::StrCat(where(), "not a JSON object"));
    for (const char* field : {"lang", "text"}) {
      auto it = v.find(field);
      if (it == v.end() || !it->is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(where(), "missing string field \"", field, "\""));
      }
    }
    out.push_back({v["lang"].get<std::string>(), v["text"].get<std::string>()});
  }
  return out;
}

}  // namespace nmoe::data
