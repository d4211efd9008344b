#include "profiler/svg.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nmoe::profiler {

std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

Svg::Svg(double width, double height) : width_(width), height_(height) {}

void Svg::Rect(double x, double y, double w, double h, const std::string& fill, const std::string& title) {
  absl::StrAppend(&body_, absl::StrFormat(R"(<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s")", x, y, w,
                                          h, XmlEscape(fill)));
  if (title.empty()) {
    absl::StrAppend(&body_, "/>\n");
  } else {
    absl::StrAppend(&body_, "><title>", XmlEscape(title), "</title></rect>\n");
  }
}

void Svg::Line(double x1, double y1, double x2, double y2, const std::string& stroke, double width) {
  absl::StrAppend(&body_, absl::StrFormat(R"(<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f" stroke="%s" stroke-width="%.2f"/>)",
                                          x1, y1, x2, y2, XmlEscape(stroke), width),
                  "\n");
}

void Svg::Polyline(const std::string& points, const std::string& stroke, double width) {
  absl::StrAppend(&body_, absl::StrFormat(R"(<polyline points="%s" fill="none" stroke="%s" stroke-width="%.2f"/>)",
                                          XmlEscape(points), XmlEscape(stroke), width),
                  "\n");
}

void Svg::Circle(double cx, double cy, double r, const std::string& fill, const std::string& title) {
  absl::StrAppend(&body_, absl::StrFormat(R"(<circle cx="%.2f" cy="%.2f" r="%.2f" fill="%s">)", cx, cy, r, XmlEscape(fill)),
                  title.empty() ? "" : absl::StrCat("<title>", XmlEscape(title), "</title>"), "</circle>\n");
}

void Svg::Text(double x, double y, const std::string& text, double size, const std::string& anchor, double rotate,
               const std::string& fill) {
  std::string transform;
  if (rotate != 0) transform = absl::StrFormat(R"x( transform="rotate(%.1f %.2f %.2f)")x", rotate, x, y);
  absl::StrAppend(&body_,
                  absl::StrFormat(R"(<text x="%.2f" y="%.2f" font-size="%.1f" text-anchor="%s" fill="%s"%s>%s</text>)", x,
                                  y, size, XmlEscape(anchor), XmlEscape(fill), transform, XmlEscape(text)),
                  "\n");
}

std::string Svg::Finish() const {
  return absl::StrCat(
      absl::StrFormat(R"(<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" )"
                      R"(font-family="DejaVu Sans, Helvetica, Arial, sans-serif">)",
                      width_, height_, width_, height_),
      "\n", absl::StrFormat(R"(<rect x="0" y="0" width="%.0f" height="%.0f" fill="white"/>)", width_, height_), "\n",
      body_, "</svg>\n");
}

}  // namespace nmoe::profiler
