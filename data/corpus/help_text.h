// Text of a LibreOffice help page (the HTML files of the libreoffice-help-* packages).
//
// Rules (docs/data.md, "Cleaning"):
// - Only the subtree of the element with id="DisplayArea" is read (navigation, search,
//   footer and the debug box lie outside it).
// - Text is kept inside the text containers p, h1..h6, h (a heading variant the help
//   generator emits), li, td and th. Each container gives one line; a container nested
//   in another (td > p, li > p) ends the outer one's current line and starts its own.
//   <br> and the block elements div, table, tr, ul, ol also end the current line. Text
//   outside any container is dropped.
// - Dropped subtrees: script, style, pre and code (Basic/Python code samples are not
//   translated), img, nav, aside, header, footer, noscript.
// - Inline markup (a, span, emph ...) is flattened to its text: links and embedded
//   variables (product name, menu paths, key names) read as their visible text.
// - A "switchinline" span holds platform/application variants of one phrase (e.g. MAC
//   "Command" vs default "Ctrl"); only the default variant (id starting with "default")
//   is kept, or the first variant when there is no default. Block "switch" variants are
//   separate paragraphs and are all kept.
// - Each line is whitespace-normalised (NormalizeWhitespace); empty lines are dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace nmoe::data {

// Lines of one help page, in document order. INVALID_ARGUMENT when the page has no
// element with id="DisplayArea" (not a help page).
absl::StatusOr<std::vector<std::string>> ExtractHelpPageLines(std::string_view html);

}  // namespace nmoe::data
