#include "data/corpus/html_dom.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace nmoe::data {
namespace {

constexpr size_t kMaxDepth = 256;

bool IsVoid(std::string_view tag) {
  static constexpr std::string_view kVoid[] = {"area", "base", "br",   "col",   "embed",  "hr",  "img",
                                               "input", "link", "meta", "param", "source", "track", "wbr"};
  return std::find(std::begin(kVoid), std::end(kVoid), tag) != std::end(kVoid);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(absl::ascii_tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Case-insensitive search for `needle` (lowercase) in `hay` from `pos`.
size_t FindNoCase(std::string_view hay, std::string_view needle, size_t pos) {
  for (size_t i = pos; i + needle.size() <= hay.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < needle.size() && match; ++j) {
      match = absl::ascii_tolower(static_cast<unsigned char>(hay[i + j])) == needle[j];
    }
    if (match) return i;
  }
  return std::string_view::npos;
}

}  // namespace

const std::string* HtmlNode::Attr(std::string_view name) const {
  for (const auto& [k, v] : attrs) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool HtmlNode::HasClass(std::string_view cls) const {
  const std::string* c = Attr("class");
  if (c == nullptr) return false;
  for (absl::string_view part : absl::StrSplit(*c, ' ', absl::SkipEmpty())) {
    if (std::string_view(part.data(), part.size()) == cls) return true;
  }
  return false;
}

std::string DecodeHtmlEntities(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '&') {
      out.push_back(raw[i++]);
      continue;
    }
    size_t semi = raw.find(';', i + 1);
    if (semi == std::string_view::npos || semi - i > 12) {
      out.push_back(raw[i++]);
      continue;
    }
    std::string_view name = raw.substr(i + 1, semi - i - 1);
    bool decoded = true;
    if (name == "amp") out.push_back('&');
    else if (name == "lt") out.push_back('<');
    else if (name == "gt") out.push_back('>');
    else if (name == "quot") out.push_back('"');
    else if (name == "apos") out.push_back('\'');
    else if (name == "nbsp") AppendUtf8(0xA0, &out);
    else if (name.size() >= 2 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string_view digits = name.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      decoded = !digits.empty() && digits.size() <= 7;
      for (char c : digits) {
        if (!decoded) break;
        int d = hex ? (absl::ascii_isxdigit(static_cast<unsigned char>(c))
                           ? (absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10)
                           : -1)
                    : (absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0' : -1);
        if (d < 0) decoded = false;
        else cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      }
      if (decoded) AppendUtf8(cp, &out);
    } else {
      decoded = false;
    }
    if (decoded) {
      i = semi + 1;
    } else {
      out.push_back(raw[i++]);
    }
  }
  return out;
}

std::unique_ptr<HtmlNode> ParseHtml(std::string_view html) {
  auto root = std::make_unique<HtmlNode>();
  root->tag = "#root";
  std::vector<HtmlNode*> stack = {root.get()};
  auto add_text = [&](std::string_view raw) {
    if (raw.empty()) return;
    auto node = std::make_unique<HtmlNode>();
    node->is_text = true;
    node->text = DecodeHtmlEntities(raw);
    stack.back()->children.push_back(std::move(node));
  };
  size_t i = 0;
  const size_t n = html.size();
  while (i < n) {
    size_t lt = html.find('<', i);
    if (lt == std::string_view::npos) {
      add_text(html.substr(i));
      break;
    }
    add_text(html.substr(i, lt - i));
    i = lt;
    if (html.compare(i, 4, "<!--") == 0) {
      size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? n : end + 3;
      continue;
    }
    if (i + 1 < n && (html[i + 1] == '!' || html[i + 1] == '?')) {
      size_t end = html.find('>', i);
      i = end == std::string_view::npos ? n : end + 1;
      continue;
    }
    bool closing = i + 1 < n && html[i + 1] == '/';
    size_t p = i + (closing ? 2 : 1);
    size_t name_start = p;
    while (p < n && IsNameChar(html[p])) ++p;
    if (p == name_start || !absl::ascii_isalpha(static_cast<unsigned char>(html[name_start]))) {
      add_text(html.substr(i, 1));  // a literal '<'
      i += 1;
      continue;
    }
    std::string name = Lower(html.substr(name_start, p - name_start));
    if (closing) {
      size_t end = html.find('>', p);
      i = end == std::string_view::npos ? n : end + 1;
      for (size_t d = stack.size(); d-- > 1;) {
        if (stack[d]->tag == name) {
          stack.resize(d);
          break;
        }
      }
      continue;
    }
    auto node = std::make_unique<HtmlNode>();
    node->tag = name;
    bool self_closing = false;
    while (p < n) {  // attributes
      while (p < n && absl::ascii_isspace(static_cast<unsigned char>(html[p]))) ++p;
      if (p >= n) break;
      if (html[p] == '>') {
        ++p;
        break;
      }
      if (html[p] == '/') {
        self_closing = true;
        ++p;
        continue;
      }
      size_t a = p;
      while (p < n && !absl::ascii_isspace(static_cast<unsigned char>(html[p])) && html[p] != '=' && html[p] != '>' &&
             html[p] != '/') {
        ++p;
      }
      std::string attr = Lower(html.substr(a, p - a));
      std::string value;
      while (p < n && absl::ascii_isspace(static_cast<unsigned char>(html[p]))) ++p;
      if (p < n && html[p] == '=') {
        ++p;
        while (p < n && absl::ascii_isspace(static_cast<unsigned char>(html[p]))) ++p;
        if (p < n && (html[p] == '"' || html[p] == '\'')) {
          char q = html[p++];
          size_t end = html.find(q, p);
          if (end == std::string_view::npos) end = n;
          value = DecodeHtmlEntities(html.substr(p, end - p));
          p = end < n ? end + 1 : n;
        } else {
          size_t v = p;
          while (p < n && !absl::ascii_isspace(static_cast<unsigned char>(html[p])) && html[p] != '>') ++p;
          value = DecodeHtmlEntities(html.substr(v, p - v));
        }
      }
      if (!attr.empty()) node->attrs.emplace_back(std::move(attr), std::move(value));
      if (p == a) ++p;  // defensive: always make progress
    }
    i = p;
    HtmlNode* raw = node.get();
    stack.back()->children.push_back(std::move(node));
    if (name == "script" || name == "style") {  // raw text: skipped
      size_t end = FindNoCase(html, "</" + name, i);
      if (end == std::string_view::npos) {
        i = n;
      } else {
        size_t gt = html.find('>', end);
        i = gt == std::string_view::npos ? n : gt + 1;
      }
      continue;
    }
    // Depth cap keeps recursive walkers safe on hostile input; deeper elements become leaves.
    if (!self_closing && !IsVoid(name) && stack.size() < kMaxDepth) stack.push_back(raw);
  }
  return root;
}

const HtmlNode* FindById(const HtmlNode& root, std::string_view id) {
  if (!root.is_text) {
    const std::string* v = root.Attr("id");
    if (v != nullptr && *v == id) return &root;
  }
  for (const auto& child : root.children) {
    if (const HtmlNode* found = FindById(*child, id)) return found;
  }
  return nullptr;
}

}  // namespace nmoe::data
