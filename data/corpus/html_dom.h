// A small, tolerant HTML parser: enough for machine-generated help pages.
//
// Why not an XML parser: the LibreOffice help packages ship HTML5 (void elements such
// as <br>, <img>, <meta> without a closing slash), which XML parsers reject. This
// parser builds a tree with HTML's void-element rule, skips comments, doctypes,
// processing instructions and the bodies of <script>/<style>, decodes character
// references (numeric ones and amp, lt, gt, quot, apos, nbsp), lowercases tag and
// attribute names, closes the nearest matching open element on an end tag (closing
// any elements left open inside it) and ignores stray end tags. It never fails: any
// byte sequence yields a tree.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nmoe::data {

struct HtmlNode {
  bool is_text = false;
  std::string tag;   // lowercase element name; empty for text nodes
  std::string text;  // decoded text (text nodes only)
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<std::unique_ptr<HtmlNode>> children;

  // Attribute value, or nullptr when absent.
  const std::string* Attr(std::string_view name) const;
  // True when the whitespace-separated class list contains `cls`.
  bool HasClass(std::string_view cls) const;
};

// Parses a whole document; the returned root is a synthetic element with tag "#root".
std::unique_ptr<HtmlNode> ParseHtml(std::string_view html);

// Decodes character references in `raw` (see above); unknown references stay verbatim.
std::string DecodeHtmlEntities(std::string_view raw);

// First element (pre-order) whose id attribute equals `id`, or nullptr.
const HtmlNode* FindById(const HtmlNode& root, std::string_view id);

}  // namespace nmoe::data
