#include "common/task.h"

namespace nmoe {

std::filesystem::path TaskContext::Resolve(const std::string& path) const {
  std::filesystem::path p(path);
  return p.is_absolute() ? p : work_dir / p;
}

}  // namespace nmoe
