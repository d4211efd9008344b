// A minimal SVG writer for the profiler's figures: shapes and text in user units,
// escaped. Torch-free.
#pragma once

#include <string>

namespace nmoe::profiler {

class Svg {
 public:
  Svg(double width, double height);

  void Rect(double x, double y, double w, double h, const std::string& fill, const std::string& title = "");
  void Line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1);
  // `points` = "x1,y1 x2,y2 ...".
  void Polyline(const std::string& points, const std::string& stroke, double width = 1.5);
  void Circle(double cx, double cy, double r, const std::string& fill, const std::string& title = "");
  // anchor: "start", "middle" or "end"; rotate in degrees about (x, y).
  void Text(double x, double y, const std::string& text, double size = 12, const std::string& anchor = "start",
            double rotate = 0, const std::string& fill = "#222");

  // The document, closed.
  std::string Finish() const;

 private:
  double width_, height_;
  std::string body_;
};

// XML text escaping (& < > " ').
std::string XmlEscape(const std::string& text);

}  // namespace nmoe::profiler
