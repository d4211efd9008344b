// Letters (L) and numbers (N) that newer Unicode versions assigned after the
// Unicode 14 tables of Debian 12's PCRE2 10.42, as PCRE2 class items. The
// pre-tokenizer regex adds them to \p{L} and \p{N} so that splitting follows
// Unicode 17 (Node 20's ICU, what the JS reference uses) on every PCRE2.
//
// Generated once: for every code point, compared /^\p{L}$/u (resp. N) in Node
// 20 (process.versions.unicode == "17.0") with PCRE2 10.42's '^\p{L}$' (UTF,
// UCP) and listed the code points only Node's Unicode assigns, as ranges.
// No code point is L or N in PCRE2 but not in Node's tables.
#pragma once

namespace nmoe::tokenizer {

inline constexpr char kExtraLetters[] =
    R"(\x{88F}\x{C5C}\x{CDC}\x{1C89}-\x{1C8A}\x{A7CB}-\x{A7CF}\x{A7D2}\x{A7D4})"
    R"(\x{A7DA}-\x{A7DC}\x{A7F1}\x{105C0}-\x{105F3}\x{10940}-\x{10959})"
    R"(\x{10D4A}-\x{10D65}\x{10D6F}-\x{10D85}\x{10EC2}-\x{10EC7}\x{1123F}-\x{11240})"
    R"(\x{11380}-\x{11389}\x{1138B}\x{1138E}\x{11390}-\x{113B5}\x{113B7}\x{113D1})"
    R"(\x{113D3}\x{11BC0}-\x{11BE0}\x{11DB0}-\x{11DDB}\x{11F02}\x{11F04}-\x{11F10})"
    R"(\x{11F12}-\x{11F33}\x{1342F}\x{13441}-\x{13446}\x{13460}-\x{143FA})"
    R"(\x{16100}-\x{1611D}\x{16D40}-\x{16D6C}\x{16EA0}-\x{16EB8}\x{16EBB}-\x{16ED3})"
    R"(\x{16FF2}-\x{16FF3}\x{187F8}-\x{187FF}\x{18CFF}\x{18D09}-\x{18D1E})"
    R"(\x{18D80}-\x{18DF2}\x{1B132}\x{1B155}\x{1DF25}-\x{1DF2A}\x{1E030}-\x{1E06D})"
    R"(\x{1E4D0}-\x{1E4EB}\x{1E5D0}-\x{1E5ED}\x{1E5F0}\x{1E6C0}-\x{1E6DE})"
    R"(\x{1E6E0}-\x{1E6E2}\x{1E6E4}-\x{1E6E5}\x{1E6E7}-\x{1E6ED}\x{1E6F0}-\x{1E6F4})"
    R"(\x{1E6FE}-\x{1E6FF}\x{2B739}-\x{2B73F}\x{2CEA2}-\x{2CEAD}\x{2EBF0}-\x{2EE5D})"
    R"(\x{31350}-\x{33479})";
inline constexpr char kExtraNumbers[] =
    R"(\x{10D40}-\x{10D49}\x{116D0}-\x{116E3}\x{11BF0}-\x{11BF9}\x{11DE0}-\x{11DE9})"
    R"(\x{11F50}-\x{11F59}\x{16130}-\x{16139}\x{16D70}-\x{16D79}\x{16FF4}-\x{16FF6})"
    R"(\x{1CCF0}-\x{1CCF9}\x{1D2C0}-\x{1D2D3}\x{1E4F0}-\x{1E4F9}\x{1E5F1}-\x{1E5FA})";

}  // namespace nmoe::tokenizer
