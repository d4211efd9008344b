#include "common/data_roots.h"

#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/proto_walk.h"

namespace nmoe {
namespace fs = std::filesystem;
namespace {

// Lexically normal, without a trailing separator ("/a/b/" -> "/a/b").
fs::path Normal(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
  return n;
}

bool Under(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

bool UnderAny(const fs::path& path, const std::vector<fs::path>& roots) {
  for (const fs::path& root : roots) {
    if (Under(path, root)) return true;
  }
  return false;
}

bool IsPathField(const std::string& name) {
  return name == "path" || name == "paths" || absl::EndsWith(name, "_path");
}

}  // namespace

absl::StatusOr<DataRoots> DataRoots::Create(const std::vector<std::string>& roots) {
  DataRoots out;
  for (const std::string& root : roots) {
    if (root.empty()) return absl::InvalidArgumentError("--data-root: an empty folder name");
    std::error_code ec;
    const fs::path absolute = Normal(fs::absolute(root, ec));
    if (ec) return absl::InvalidArgumentError(absl::StrCat("--data-root ", root, ": ", ec.message()));
    out.lexical_.push_back(absolute);
    const fs::path canonical = fs::weakly_canonical(absolute, ec);
    out.roots_.push_back(ec ? absolute : Normal(canonical));
  }
  return out;
}

absl::Status DataRoots::Check(const std::string& field, const std::string& path,
                              const std::optional<fs::path>& base) const {
  if (roots_.empty() || path.empty()) return absl::OkStatus();
  auto outside = [&](const std::string& why) {
    std::vector<std::string> names;
    for (const fs::path& r : roots_) names.push_back(r.string());
    return absl::InvalidArgumentError(absl::StrCat(field, ": '", path, "' ", why, " (data roots: ",
                                                   absl::StrJoin(names, ", "), ")"));
  };
  fs::path p(path);
  if (p.is_relative()) {
    const fs::path n = p.lexically_normal();
    if (!n.empty() && *n.begin() == "..") return outside("climbs out of the work dir with '..'");
    if (!base) return absl::OkStatus();
    p = *base / p;
  }
  std::error_code ec;
  const fs::path lexical = Normal(fs::absolute(p, ec));
  if (ec) return outside(absl::StrCat("cannot be made absolute: ", ec.message()));
  if (!UnderAny(lexical, lexical_) && !UnderAny(lexical, roots_)) return outside("is outside the data roots");
  const fs::path resolved = fs::weakly_canonical(lexical, ec);
  // An unresolvable path (a folder we may not list) is judged lexically: the
  // worker that reads it checks again on its own machine.
  if (!ec && !UnderAny(Normal(resolved), roots_)) {
    return outside(absl::StrCat("resolves through a symlink to ", resolved.string(), ", outside the data roots"));
  }
  return absl::OkStatus();
}

absl::Status DataRoots::CheckSpec(const v1::JobSpec& spec, const std::optional<fs::path>& base) const {
  if (roots_.empty()) return absl::OkStatus();
  using google::protobuf::FieldDescriptor;
  return WalkFields(spec, "spec",
                    [&](const google::protobuf::Message& m, const FieldDescriptor& f, const std::string& field) {
                      if (f.type() != FieldDescriptor::TYPE_STRING || !IsPathField(f.name())) return absl::OkStatus();
                      const google::protobuf::Reflection* r = m.GetReflection();
                      if (!f.is_repeated()) return Check(field, r->GetString(m, &f), base);
                      for (int i = 0; i < r->FieldSize(m, &f); ++i) {
                        absl::Status s = Check(absl::StrCat(field, "[", i, "]"), r->GetRepeatedString(m, &f, i), base);
                        if (!s.ok()) return s;
                      }
                      return absl::OkStatus();
                    });
}

}  // namespace nmoe
