#include "data/corpus/corpus_builder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "data/corpus/help_text.h"
#include "data/hash.h"

namespace nmoe::data {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<HelpPage>> ReadHelpTree(const std::string& help_lang_dir) {
  fs::path text_dir = fs::path(help_lang_dir) / "text";
  std::error_code ec;
  if (!fs::is_directory(text_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no help pages: ", text_dir.string(), " is not a directory"));
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(text_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".html") files.push_back(it->path());
  }
  if (ec) return absl::InternalError(absl::StrCat("listing ", text_dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<HelpPage> pages;
  pages.reserve(files.size());
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in) return absl::InternalError(absl::StrCat("cannot read ", file.string()));
    auto lines = ExtractHelpPageLines(content.str());
    if (!lines.ok()) return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", lines.status().message()));
    pages.push_back({fs::relative(file, help_lang_dir).generic_string(), std::move(*lines)});
  }
  return pages;
}

CleanCorpus CleanLanguage(const std::vector<HelpPage>& pages, const std::vector<HelpPage>* english,
                          const CleanOptions& options) {
  std::unordered_map<std::string_view, std::unordered_set<std::string_view>> english_lines;
  if (english != nullptr) {
    for (const HelpPage& page : *english) {
      auto& set = english_lines[page.path];
      for (const std::string& line : page.lines) set.insert(line);
    }
  }
  std::vector<const HelpPage*> order;
  for (const HelpPage& page : pages) order.push_back(&page);
  std::sort(order.begin(), order.end(), [](const HelpPage* a, const HelpPage* b) {
    uint64_t ha = Fnv1a64(a->path), hb = Fnv1a64(b->path);
    return ha != hb ? ha < hb : a->path < b->path;
  });

  CleanCorpus out;
  out.stats.pages = pages.size();
  std::unordered_set<std::string_view> kept;
  uint64_t kept_bytes = 0;
  for (const HelpPage* page : order) {
    if (options.sample_bytes > 0 && kept_bytes >= options.sample_bytes) break;
    ++out.stats.pages_used;
    const auto en = english_lines.find(page->path);
    auto& split = out.splits[static_cast<size_t>(SplitOfPage(page->path))];
    for (const std::string& line : page->lines) {
      ++out.stats.lines_extracted;
      if (en != english_lines.end() && en->second.count(line) > 0) {
        ++out.stats.dropped_untranslated;
      } else if (WordUnits(line) < options.min_word_units) {
        ++out.stats.dropped_short;
      } else if (!kept.insert(line).second) {
        ++out.stats.dropped_duplicate;
      } else {
        ++out.stats.kept;
        kept_bytes += line.size() + 1;
        split.push_back(line);
      }
    }
  }
  return out;
}

}  // namespace nmoe::data
