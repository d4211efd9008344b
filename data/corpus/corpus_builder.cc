#include "data/corpus/corpus_builder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/corpus/help_text.h"
#include "data/corpus/tar_reader.h"
#include "data/hash.h"

namespace nmoe::data {

namespace fs = std::filesystem;

namespace {

absl::StatusOr<HelpPage> MakePage(std::string path, std::string_view html, std::string_view origin) {
  auto lines = ExtractHelpPageLines(html);
  if (!lines.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(origin), ": ", lines.status().message()));
  }
  return HelpPage{std::move(path), std::move(*lines)};
}

void SortByPath(std::vector<HelpPage>* pages) {
  std::sort(pages->begin(), pages->end(), [](const HelpPage& a, const HelpPage& b) { return a.path < b.path; });
}

}  // namespace

absl::StatusOr<std::vector<HelpPage>> ReadHelpPagesFromTar(std::string_view tar, const std::string& help_dir) {
  const std::string root = absl::StrCat("usr/share/libreoffice/help/", help_dir, "/");
  const std::string text_root = root + "text/";
  std::vector<HelpPage> pages;
  absl::Status status = ForEachTarFile(tar, [&](std::string_view path, std::string_view content) -> absl::Status {
    if (path.substr(0, text_root.size()) != text_root || path.size() < 5 || path.substr(path.size() - 5) != ".html") {
      return absl::OkStatus();
    }
    NMOE_ASSIGN_OR_RETURN(HelpPage page, MakePage(std::string(path.substr(root.size())), content, path));
    pages.push_back(std::move(page));
    return absl::OkStatus();
  });
  NMOE_RETURN_IF_ERROR(status);
  if (pages.empty()) return absl::NotFoundError(absl::StrCat("the package holds no pages under ", text_root));
  SortByPath(&pages);
  return pages;
}

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
    NMOE_ASSIGN_OR_RETURN(HelpPage page,
                          MakePage(fs::relative(file, help_lang_dir).generic_string(), content.str(), file.string()));
    pages.push_back(std::move(page));
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
