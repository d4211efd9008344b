#include "data/corpus/tar_reader.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace nmoe::data {
namespace {

constexpr size_t kBlock = 512;

std::string_view Field(std::string_view header, size_t offset, size_t size) {
  std::string_view f = header.substr(offset, size);
  size_t nul = f.find('\0');
  return nul == std::string_view::npos ? f : f.substr(0, nul);
}

// Octal numeric field (leading spaces/NULs allowed); -1 when malformed.
int64_t Octal(std::string_view f) {
  int64_t v = 0;
  bool any = false;
  for (char c : f) {
    if (c == ' ' || c == '\0') {
      if (any) break;
      continue;
    }
    if (c < '0' || c > '7') return -1;
    v = v * 8 + (c - '0');
    any = true;
  }
  return any ? v : 0;
}

// "path" value from a pax extended header's "LEN key=value\n" records.
std::string PaxPath(std::string_view records) {
  std::string path;
  while (!records.empty()) {
    size_t space = records.find(' ');
    if (space == std::string_view::npos) break;
    size_t len = 0;
    for (char c : records.substr(0, space)) len = len * 10 + static_cast<size_t>(c - '0');
    if (len == 0 || len > records.size()) break;
    std::string_view record = records.substr(space + 1, len - space - 2);  // drop the '\n'
    if (record.substr(0, 5) == "path=") path = std::string(record.substr(5));
    records.remove_prefix(len);
  }
  return path;
}

}  // namespace

absl::Status ForEachTarFile(std::string_view tar,
                            const std::function<absl::Status(std::string_view, std::string_view)>& visit) {
  size_t pos = 0;
  std::string long_name;
  while (pos + kBlock <= tar.size()) {
    std::string_view header = tar.substr(pos, kBlock);
    if (header.find_first_not_of('\0') == std::string_view::npos) return absl::OkStatus();  // end marker
    int64_t checksum = Octal(header.substr(148, 8));
    int64_t sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    }
    if (checksum != sum) {
      return absl::DataLossError(absl::StrCat("tar: bad header checksum at offset ", pos));
    }
    int64_t size = Octal(header.substr(124, 12));
    if (size < 0 || pos + kBlock + static_cast<uint64_t>(size) > tar.size()) {
      return absl::DataLossError(absl::StrCat("tar: member at offset ", pos, " runs past the end of the archive"));
    }
    std::string_view content = tar.substr(pos + kBlock, static_cast<size_t>(size));
    const char type = header[156];
    pos += kBlock + (static_cast<size_t>(size) + kBlock - 1) / kBlock * kBlock;
    if (type == 'L') {
      long_name = std::string(Field(content, 0, content.size()));
      continue;
    }
    if (type == 'x') {
      long_name = PaxPath(content);
      continue;
    }
    std::string path;
    if (!long_name.empty()) {
      path = std::move(long_name);
      long_name.clear();
    } else {
      std::string_view prefix = Field(header, 345, 155);
      std::string_view name = Field(header, 0, 100);
      path = prefix.empty() || Field(header, 257, 5) != "ustar" ? std::string(name)
                                                                : std::string(prefix) + "/" + std::string(name);
    }
    if (type != '0' && type != '\0') continue;  // directories, links, devices
    std::string_view p = path;
    if (p.substr(0, 2) == "./") p.remove_prefix(2);
    if (absl::Status s = visit(p, content); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace nmoe::data
