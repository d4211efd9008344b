// The byte-level alphabet of GPT-2-style BPE: each of the 256 byte values is
// shown as one printable code point ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF
// stand for themselves; the other 68 bytes map to U+0100.. in byte order, so a
// space is U+0120 'Ġ' and a newline U+010A 'Ċ'). Vocabularies of byte-level
// tokenizers (tokenizer.json) are written in this alphabet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nmoe::tokenizer {

// The code point that stands for byte `b`.
char32_t ByteToChar(uint8_t b);

// The byte a code point stands for; nullopt outside the alphabet.
std::optional<uint8_t> CharToByte(char32_t c);

// UTF-8 of the byte-level characters of `bytes` (e.g. " the" -> "Ġthe").
std::string BytesToByteLevel(std::string_view bytes);

// The bytes a byte-level token stands for ("Ġthe" -> " the"); nullopt when
// `token` is not well-formed UTF-8 or holds a character outside the alphabet.
std::optional<std::string> ByteLevelToBytes(std::string_view token);

}  // namespace nmoe::tokenizer
