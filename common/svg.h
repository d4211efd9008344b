// A minimal SVG writer for the figures jobs and nmoectl draw (bar charts,
// heatmaps): shapes and text in user units, escaped, one string out.
// Header-only and torch-free so any folder may include it.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace nmoe::svg {

// Escapes text for SVG character data and attribute values.
inline std::string Escape(std::string_view text) {
  std::string out;
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

enum class Anchor { kStart, kMiddle, kEnd };

class Document {
 public:
  // A white canvas `width` x `height` user units (= CSS pixels).
  Document(double width, double height) : width_(width), height_(height) {
    Rect(0, 0, width, height, "#ffffff");
  }

  void Rect(double x, double y, double w, double h, std::string_view fill, std::string_view title = {}) {
    body_ += fmt::format(R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="{}")", x, y, w, h, Escape(fill));
    if (title.empty()) {
      body_ += "/>\n";
    } else {
      body_ += fmt::format("><title>{}</title></rect>\n", Escape(title));
    }
  }
  void Line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1.0) {
    body_ += fmt::format(R"(<line x1="{:.2f}" y1="{:.2f}" x2="{:.2f}" y2="{:.2f}" stroke="{}" stroke-width="{:.2f}"/>)"
                         "\n",
                         x1, y1, x2, y2, Escape(stroke), width);
  }
  // `points` = "x1,y1 x2,y2 ...", unfilled.
  void Polyline(std::string_view points, std::string_view stroke, double width = 1.5) {
    body_ += fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="{:.2f}"/>)"
                         "\n",
                         Escape(points), Escape(stroke), width);
  }
  void Circle(double cx, double cy, double r, std::string_view fill, std::string_view title = {}) {
    body_ += fmt::format(R"(<circle cx="{:.2f}" cy="{:.2f}" r="{:.2f}" fill="{}">)", cx, cy, r, Escape(fill));
    if (!title.empty()) body_ += fmt::format("<title>{}</title>", Escape(title));
    body_ += "</circle>\n";
  }
  // Text at (x, y) (baseline); `rotate` degrees about that point.
  void Text(double x, double y, std::string_view text, double size = 12, Anchor anchor = Anchor::kStart,
            double rotate = 0, std::string_view fill = "#222222") {
    const char* a = anchor == Anchor::kStart ? "start" : anchor == Anchor::kMiddle ? "middle" : "end";
    std::string transform = rotate == 0 ? "" : fmt::format(R"x( transform="rotate({:.1f} {:.2f} {:.2f})")x", rotate, x, y);
    body_ += fmt::format(
        R"(<text x="{:.2f}" y="{:.2f}" font-family="sans-serif" font-size="{:.1f}" text-anchor="{}" fill="{}"{}>{}</text>)"
        "\n",
        x, y, size, a, Escape(fill), transform, Escape(text));
  }

  std::string Finish() const {
    return fmt::format(
               R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}">)"
               "\n",
               width_, height_, width_, height_) +
           body_ + "</svg>\n";
  }

 private:
  double width_, height_;
  std::string body_;
};

// A qualitative palette (colour-blind friendly, Okabe-Ito order).
inline std::string_view PaletteColor(size_t i) {
  static constexpr std::string_view kColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                                 "#56B4E9", "#D55E00", "#F0E442", "#000000"};
  return kColors[i % (sizeof(kColors) / sizeof(kColors[0]))];
}

}  // namespace nmoe::svg
