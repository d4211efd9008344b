#include "data/corpus/help_text.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/match.h"
#include "data/corpus/html_dom.h"
#include "data/corpus/text_rules.h"

namespace nmoe::data {
namespace {

bool OneOf(std::string_view tag, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), tag) != set.end();
}

bool IsContainer(std::string_view tag) {
  return OneOf(tag, {"p", "h1", "h2", "h3", "h4", "h5", "h6", "h", "li", "td", "th"});
}

bool EndsLine(std::string_view tag) { return IsContainer(tag) || OneOf(tag, {"div", "table", "tr", "ul", "ol", "br"}); }

bool IsSkipped(std::string_view tag) {
  return OneOf(tag, {"script", "style", "pre", "code", "img", "nav", "aside", "header", "footer", "noscript"});
}

class LineCollector {
 public:
  void Walk(const HtmlNode& node) {
    if (node.is_text) {
      if (containers_ > 0) buffer_ += node.text;
      return;
    }
    if (IsSkipped(node.tag)) return;
    if (node.HasClass("switchinline")) {
      if (const HtmlNode* variant = ChooseVariant(node)) Walk(*variant);
      return;
    }
    const bool container = IsContainer(node.tag);
    const bool ends_line = EndsLine(node.tag);
    if (ends_line) Flush();
    if (container) ++containers_;
    for (const auto& child : node.children) Walk(*child);
    if (container) --containers_;
    if (ends_line) Flush();
  }

  std::vector<std::string> Take() {
    Flush();
    return std::move(lines_);
  }

 private:
  // The default variant of a switchinline span, else its first element child.
  static const HtmlNode* ChooseVariant(const HtmlNode& node) {
    const HtmlNode* first = nullptr;
    for (const auto& child : node.children) {
      if (child->is_text) continue;
      if (first == nullptr) first = child.get();
      const std::string* id = child->Attr("id");
      if (id != nullptr && absl::StartsWith(*id, "default")) return child.get();
    }
    return first;
  }

  void Flush() {
    std::string line = NormalizeWhitespace(buffer_);
    buffer_.clear();
    if (!line.empty()) lines_.push_back(std::move(line));
  }

  int containers_ = 0;
  std::string buffer_;
  std::vector<std::string> lines_;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ExtractHelpPageLines(std::string_view html) {
  std::unique_ptr<HtmlNode> root = ParseHtml(html);
  const HtmlNode* area = FindById(*root, "DisplayArea");
  if (area == nullptr) {
    return absl::InvalidArgumentError("not a LibreOffice help page: no element with id=\"DisplayArea\"");
  }
  LineCollector collector;
  collector.Walk(*area);
  return collector.Take();
}

}  // namespace nmoe::data
