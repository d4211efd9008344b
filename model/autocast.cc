#include "model/autocast.h"

#include <ATen/autocast_mode.h>

namespace nmoe::model {

CpuAutocast::CpuAutocast(bool enabled, c10::ScalarType dtype) : active_(enabled) {
  if (!active_) return;
  prev_enabled_ = at::autocast::is_cpu_enabled();
  prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(dtype);
  at::autocast::increment_nesting();
}

CpuAutocast::~CpuAutocast() {
  if (!active_) return;
  // Leaving the outermost region drops the cache of casted weights, as Python does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(prev_enabled_);
  at::autocast::set_autocast_cpu_dtype(prev_dtype_);
}

}  // namespace nmoe::model
