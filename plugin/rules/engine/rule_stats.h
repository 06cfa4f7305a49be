// Per-rule counters for /metrics. Updated with relaxed atomics from the
// broker thread (evaluation, republish) and the HTTP action workers; a
// scrape reads each counter once.
#pragma once

#include <atomic>
#include <cstdint>

namespace shadow::rules {

struct RuleStats {
  using Counter = std::atomic<uint64_t>;
  Counter matched{0};     // messages the rule's WHERE let through: its actions ran
  Counter executed{0};    // actions that completed (published, or answered 2xx)
  Counter failed{0};      // actions that failed (after the retries of an http action)
  Counter dropped{0};     // http actions refused because the queue was full
  Counter sql_errors{0};  // messages the SQL could not run on (e.g. SELECT *, x on a non-object)

  static void add(Counter& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static uint64_t read(const Counter& c) { return c.load(std::memory_order_relaxed); }
};

}  // namespace shadow::rules
