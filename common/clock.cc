#include "common/clock.h"

namespace nmoe {

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

}  // namespace nmoe
