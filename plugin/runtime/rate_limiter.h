// Token buckets: the optional per-thing request rate limit
// (plugin_opt_rate_limit_per_thing) and a budget for log lines, so that a
// flood of denied requests cannot flood the broker's log. Pure code; the
// caller passes the time, so tests need no clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace shadow::runtime {

using SteadyTime = std::chrono::steady_clock::time_point;

// One bucket: holds up to `burst` tokens, refilled at `rate` per second,
// starting full. Not thread-safe.
class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst, SteadyTime now)
      : rate_(rate_per_s), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token if there is one.
  bool take(SteadyTime now);
  // True when the bucket has been refilled completely: it behaves exactly
  // like a new bucket, so it can be forgotten.
  bool full(SteadyTime now) const;

 private:
  void refill(SteadyTime now);
  double rate_;
  double burst_;
  double tokens_;
  SteadyTime last_;
};

// One bucket per key (thing name), created on first use. Memory is bounded:
// buckets that have refilled are dropped by a sweep once per refill period,
// and when more than `max_keys` buckets are active at once an arbitrary one
// is dropped (that key gets a fresh burst). Thread-safe.
class RateLimiter {
 public:
  // rate_per_s > 0; the burst equals the rate (one second's worth).
  explicit RateLimiter(uint32_t rate_per_s, size_t max_keys = 100000);

  // True when a request for `key` may run now; false when it is over the limit.
  bool allow(std::string_view key, SteadyTime now);
  size_t tracked_keys() const;

 private:
  void sweep(SteadyTime now);  // requires mu_

  const double rate_;
  const size_t max_keys_;
  const std::chrono::nanoseconds period_;  // time for an empty bucket to refill
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  SteadyTime next_sweep_{};
};

// At most `per_second` lines per second after a burst of as many; counts
// what it suppressed so the next line that passes can say so. Not thread-safe.
class LogBudget {
 public:
  explicit LogBudget(double per_second) : bucket_(per_second, per_second, SteadyTime{}) {}
  // True when a line may be written now; *suppressed receives the number of
  // lines refused since the last one that passed.
  bool allow(SteadyTime now, uint64_t* suppressed);

 private:
  TokenBucket bucket_;
  uint64_t suppressed_ = 0;
};

}  // namespace shadow::runtime
