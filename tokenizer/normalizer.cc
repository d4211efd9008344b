#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

namespace nmoe::tokenizer {
namespace {

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

int OptionsOf(NormalForm form) {
  switch (form) {
    case NormalForm::kNFC:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case NormalForm::kNFD:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case NormalForm::kNFKC:
      return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    case NormalForm::kNFKD:
      return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  }
  return UTF8PROC_STABLE;
}

}  // namespace

std::string Normalizer::Apply(std::string_view text) const {
  std::string current(text);
  if (steps_.empty() || IsAscii(text)) return current;
  for (const NormalForm form : steps_) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t len =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(current.data()),
                     static_cast<utf8proc_ssize_t>(current.size()), &mapped,
                     static_cast<utf8proc_option_t>(OptionsOf(form)));
    // utf8proc only fails on ill-formed input or out of memory; the input is
    // well-formed (callers replace invalid UTF-8 first), so keep the text.
    if (len < 0) continue;
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
    current.assign(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len));
  }
  return current;
}

}  // namespace nmoe::tokenizer
