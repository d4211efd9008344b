// HTML parsing and the help-page text rules, on hand-written pages and real fixture pages.
#include "data/corpus/help_text.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "data/corpus/html_dom.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nmoe::data {
namespace {

using ::testing::ElementsAre;

std::string Page(const std::string& body) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title><script>var x = '<p>no</p>';</script>"
         "</head><body><header><p>Header text</p></header><div id=\"DisplayArea\">" +
         body + "</div><footer><p>Footer text</p></footer></body></html>";
}

std::string ReadFixture(const std::string& relative) {
  const char* src = std::getenv("NMOE_SOURCE_DIR");
  std::string path = std::string(src ? src : ".") + "/tests/data/fixtures/help/" + relative;
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_TRUE(in.good()) << path;
  return s.str();
}

TEST(HtmlDomTest, DecodesEntities) {
  EXPECT_EQ(DecodeHtmlEntities("a &amp; b &lt;c&gt; &quot;&apos; &#65;&#x42;&#x3b1;"), "a & b <c> \"' AB\xce\xb1");
  EXPECT_EQ(DecodeHtmlEntities("&nbsp;"), "\xc2\xa0");
  EXPECT_EQ(DecodeHtmlEntities("&unknown; & &#xZZ; &"), "&unknown; & &#xZZ; &");
}

TEST(HtmlDomTest, VoidElementsAndStrayEndTags) {
  auto root = ParseHtml("<div id=a><br><img src=x><p>one</b>two</p></div>");
  const HtmlNode* a = FindById(*root, "a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->children.size(), 3u);  // br, img, p: void elements take no children
  EXPECT_EQ(a->children[0]->tag, "br");
  EXPECT_EQ(a->children[2]->tag, "p");
  ASSERT_EQ(a->children[2]->children.size(), 2u);  // the stray </b> is ignored
}

TEST(HtmlDomTest, NeverFailsOnGarbage) {
  std::string garbage = "<<<</>>&#;<a b='unterminated";
  for (int i = 0; i < 2000; ++i) garbage += "<div>";  // deeper than the depth cap
  auto root = ParseHtml(garbage);
  EXPECT_NE(root, nullptr);
  EXPECT_EQ(FindById(*root, "x"), nullptr);
}

TEST(HelpTextTest, KeepsContainersDropsEverythingElse) {
  auto lines = ExtractHelpPageLines(Page(
      "<h1>Title   here</h1>"
      "<p class=\"paragraph\">Choose <span class=\"emph\">Format</span> - <a href=\"x\">Character</a>.</p>"
      "loose text outside containers"
      "<pre><code>Sub Main\nEnd Sub</code></pre>"
      "<ul><li>First item</li><li><p>Nested paragraph</p> tail</li></ul>"
      "<table><tr><th>Head</th><td><p>Cell one</p><p>Cell two</p></td></tr></table>"
      "<p>line<br>break</p>"
      "<p>   </p>"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_THAT(*lines, ElementsAre("Title here", "Choose Format - Character.", "First item", "Nested paragraph",
                                  "tail", "Head", "Cell one", "Cell two", "line", "break"));
}

TEST(HelpTextTest, SwitchInlineKeepsDefaultVariant) {
  auto lines = ExtractHelpPageLines(Page(
      "<p>Press <span class=\"switchinline\"><span hidden=\"true\" id=\"MACx\" class=\"MAC\">Command</span>"
      "<span hidden=\"true\" id=\"defaultx\">Ctrl</span></span>+F.</p>"
      "<p>Only <span class=\"switchinline\"><span hidden=\"true\" id=\"CALCy\" class=\"CALC\">Calc</span></span>.</p>"
      "<span class=\"switch\"><span hidden=\"true\" class=\"CALC\"><p>Calc block</p></span>"
      "<span hidden=\"true\" id=\"defaultz\"><p>Default block</p></span></span>"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_THAT(*lines, ElementsAre("Press Ctrl+F.", "Only Calc.", "Calc block", "Default block"));
}

TEST(HelpTextTest, NormalisesEntitiesAndNbsp) {
  auto lines = ExtractHelpPageLines(Page("<p>A&nbsp;&amp;&#160;B\t\n C</p>"));
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre("A & B C"));
}

TEST(HelpTextTest, RejectsNonHelpPage) {
  auto lines = ExtractHelpPageLines("<html><body><p>no display area</p></body></html>");
  EXPECT_EQ(lines.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(lines.status().message()), ::testing::HasSubstr("DisplayArea"));
}

// A real page (en-US, text/shared/02/20040000.html), lines worked out by hand from its HTML.
TEST(HelpTextTest, RealEnglishPage) {
  auto lines = ExtractHelpPageLines(ReadFixture("en-US/text/shared/02/20040000.html"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_THAT(*lines,
              ElementsAre("Insert Mode",
                          "Displays the current insert mode. You can toggle between INSRT = insert and OVER = "
                          "overwrite. This field is only active if the cursor is in the input line of the formula "
                          "bar or in a cell.",
                          "Click in the field to toggle the modes (except in the LibreOffice Basic IDE, where only "
                          "the Insert mode is active). If the cursor is positioned in a text document, you may also "
                          "use the Insert key (if available on your keyboard) to toggle the modes.",
                          "Mode", "Result", "INSRT",
                          "In the insert mode, new text is inserted at the cursor position and the following text "
                          "is shifted to the right. The cursor is displayed as a vertical line.",
                          "OVER",
                          "In the overwrite mode, any existing text is replaced by new text. The cursor is "
                          "displayed as a thick vertical line."));
}

TEST(HelpTextTest, RealTranslatedPagesAreParallel) {
  for (const char* lang : {"el", "zh-CN"}) {
    auto en = ExtractHelpPageLines(ReadFixture("en-US/text/swriter/main0110.html"));
    auto other = ExtractHelpPageLines(ReadFixture(std::string(lang) + "/text/swriter/main0110.html"));
    ASSERT_TRUE(en.ok() && other.ok());
    EXPECT_EQ(en->size(), other->size()) << lang;  // same structure, translated text
    EXPECT_NE(*en, *other) << lang;
  }
}

}  // namespace
}  // namespace nmoe::data
