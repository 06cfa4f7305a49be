// Removes the history of deleted shadows once their tombstone retention has
// passed (Service::purge_history), a few shadows per broker loop pass and
// at most every kIntervalSeconds while there is nothing to do, so that it
// never holds up the broker.
#pragma once

#include <cstdint>

#include "plugin/runtime/pipeline.h"

namespace shadow::fleet {

class HistoryPurger {
 public:
  static constexpr int64_t kIntervalSeconds = 10;
  static constexpr size_t kShadowsPerPass = 20;

  HistoryPurger(Service& service, runtime::BrokerOutput& out) : service_(service), out_(out) {}

  // MOSQ_EVT_TICK. Fail-open.
  int on_tick(int event, void* event_data);
  // The same with an explicit clock, for tests: how many shadows were purged.
  size_t step(int64_t now);

 private:
  Service& service_;
  runtime::BrokerOutput& out_;
  int64_t next_run_ = 0;
  bool warned_ = false;
};

}  // namespace shadow::fleet
