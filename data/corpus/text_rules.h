// Line-level rules of the corpus cleaner: whitespace, length in "word units", splits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nmoe::data {

// Collapses every run of ASCII whitespace (space, \t, \n, \v, \f, \r) and U+00A0
// (no-break space) into one space and trims both ends. Other bytes are unchanged.
std::string NormalizeWhitespace(std::string_view text);

// True for code points of scripts written without spaces between words: CJK
// ideographs (U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, U+20000-3134F), Hiragana
// (U+3040-309F), Katakana (U+30A0-30FF, U+31F0-31FF, U+FF66-FF9F) and Hangul
// syllables (U+AC00-D7AF).
bool IsCjkCodePoint(uint32_t cp);

// Length of a line in word units: each whitespace-separated token without CJK
// characters counts 1; CJK characters count 1/2 each (two CJK characters, about one
// Chinese or Japanese word), summed over the line and rounded down. A token mixing
// scripts counts only through its CJK characters. English "Opens the Formula bar" = 4;
// Chinese "打开公式栏以输入或编辑公式。" (13 CJK characters, one token) = 6.
int WordUnits(std::string_view line);

enum class Split { kTrain, kValidation, kTest };
const char* SplitName(Split split);

// Split of a help page, from its language-independent path (e.g.
// "text/swriter/main0110.html"): bucket = Fnv1a64(path) % 100; buckets 0-89 train,
// 90-94 validation, 95-99 test. Parallel pages land in the same split in every language.
Split SplitOfPage(std::string_view page_path);

}  // namespace nmoe::data
