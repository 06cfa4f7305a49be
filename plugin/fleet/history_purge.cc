#include "plugin/fleet/history_purge.h"

#include <ctime>

namespace shadow::fleet {

int HistoryPurger::on_tick(int /*event*/, void* /*event_data*/) {
  step(static_cast<int64_t>(std::time(nullptr)));
  return 0;
}

size_t HistoryPurger::step(int64_t now) {
  if (now < next_run_) return 0;
  size_t purged = 0;
  Status st = service_.purge_history(now, kShadowsPerPass, &purged);
  if (!st.is_ok()) {
    if (!warned_) out_.log(runtime::LogLevel::kWarning, "purging the shadow history failed: " + st.message());
    warned_ = true;
    next_run_ = now + kIntervalSeconds;
    return 0;
  }
  warned_ = false;
  // A full pass means more may be due: carry on at the next loop pass.
  next_run_ = purged == kShadowsPerPass ? now : now + kIntervalSeconds;
  return purged;
}

}  // namespace shadow::fleet
