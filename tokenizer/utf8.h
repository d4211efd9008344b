// UTF-8 helpers for the tokenizer: validation, the WHATWG replacement of
// invalid sequences, code point iteration, and Unicode White_Space.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nmoe::tokenizer {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with every maximal ill-formed subsequence replaced by U+FFFD, exactly
// as the WHATWG UTF-8 decoder (TextDecoder, Node's fs 'utf8') and Rust's
// String::from_utf8_lossy do. Well-formed input is returned unchanged.
std::string ReplaceInvalidUtf8(std::string_view text);

// Decodes the code point starting at `text[pos]` of well-formed UTF-8 and
// returns its length in bytes (1-4). Precondition: pos < text.size().
size_t DecodeUtf8(std::string_view text, size_t pos, char32_t* code_point);

// The length of the last code point of non-empty well-formed UTF-8 `text`.
size_t LastCodePointLength(std::string_view text);

// Appends the UTF-8 encoding of `code_point` (<= U+10FFFF, not a surrogate).
void AppendUtf8(char32_t code_point, std::string* out);

// Unicode's White_Space property (what Rust's char::is_whitespace tests).
bool IsWhiteSpace(char32_t c);

}  // namespace nmoe::tokenizer
