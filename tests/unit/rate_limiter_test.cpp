// Token buckets: the per-thing request rate limit and the log budget.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "plugin/rate_limiter.h"

using shadow::plugin::LogBudget;
using shadow::plugin::RateLimiter;
using shadow::plugin::SteadyTime;
using shadow::plugin::TokenBucket;
using namespace std::chrono_literals;

namespace {
const SteadyTime t0 = SteadyTime{} + 1000s;

int count_allowed(RateLimiter& limiter, const std::string& key, int n, SteadyTime now) {
  int allowed = 0;
  for (int i = 0; i < n; i++) allowed += limiter.allow(key, now) ? 1 : 0;
  return allowed;
}
}  // namespace

TEST_CASE("token bucket: starts full, empties, refills at the rate", "[ratelimit]") {
  TokenBucket b(10, 10, t0);
  for (int i = 0; i < 10; i++) CHECK(b.take(t0));
  CHECK_FALSE(b.take(t0));
  CHECK_FALSE(b.full(t0));
  CHECK_FALSE(b.take(t0 + 50ms));  // half a token
  CHECK(b.take(t0 + 100ms));       // one token after 1/rate s
  CHECK_FALSE(b.take(t0 + 100ms));
  CHECK(b.full(t0 + 100ms + 1s));
}

TEST_CASE("token bucket: refill is capped at the burst", "[ratelimit]") {
  TokenBucket b(5, 5, t0);
  int taken = 0;
  for (int i = 0; i < 50; i++) taken += b.take(t0 + 1h) ? 1 : 0;
  CHECK(taken == 5);
}

TEST_CASE("token bucket: a clock going backwards adds no tokens", "[ratelimit]") {
  TokenBucket b(1, 1, t0);
  CHECK(b.take(t0));
  CHECK_FALSE(b.take(t0 - 10s));
  CHECK_FALSE(b.take(t0 + 500ms));
  CHECK(b.take(t0 + 1s));
}

TEST_CASE("rate limiter: burst of N per key, then the rate", "[ratelimit]") {
  RateLimiter limiter(5);
  CHECK(count_allowed(limiter, "dev1", 20, t0) == 5);
  // Another thing has its own bucket.
  CHECK(count_allowed(limiter, "dev2", 20, t0) == 5);
  // 400 ms later dev1 has earned two tokens.
  CHECK(count_allowed(limiter, "dev1", 20, t0 + 400ms) == 2);
  // Spread requests at the rate are all allowed.
  int allowed = 0;
  for (int i = 1; i <= 20; i++) allowed += limiter.allow("dev3", t0 + i * 200ms) ? 1 : 0;
  CHECK(allowed == 20);
}

TEST_CASE("rate limiter: idle buckets are forgotten", "[ratelimit]") {
  RateLimiter limiter(10);
  for (int i = 0; i < 100; i++) limiter.allow("thing-" + std::to_string(i), t0);
  CHECK(limiter.tracked_keys() == 100);
  // After a full refill period the next call sweeps them all away.
  limiter.allow("other", t0 + 2s);
  CHECK(limiter.tracked_keys() == 1);
  // A forgotten key starts with a full burst again, as if it had been kept.
  CHECK(count_allowed(limiter, "thing-1", 20, t0 + 2s) == 10);
}

TEST_CASE("rate limiter: a bucket that is not full survives the sweep", "[ratelimit]") {
  RateLimiter limiter(2);
  CHECK(count_allowed(limiter, "busy", 5, t0) == 2);
  CHECK(count_allowed(limiter, "busy", 5, t0 + 900ms) == 1);  // 1.8 tokens earned, 0.8 left
  // The sweep at t0 + 1.05 s must keep "busy" (1.1 tokens): dropping it
  // would hand out a fresh burst of 2.
  CHECK(count_allowed(limiter, "busy", 5, t0 + 1050ms) == 1);
}

TEST_CASE("rate limiter: the number of buckets is bounded", "[ratelimit]") {
  RateLimiter limiter(1, /*max_keys=*/50);
  for (int i = 0; i < 1000; i++) limiter.allow("k" + std::to_string(i), t0);
  CHECK(limiter.tracked_keys() == 50);
}

TEST_CASE("log budget: passes a burst, then counts what it suppressed", "[ratelimit]") {
  LogBudget budget(3);
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; i++) {
    REQUIRE(budget.allow(t0, &suppressed));
    CHECK(suppressed == 0);
  }
  for (int i = 0; i < 7; i++) CHECK_FALSE(budget.allow(t0, &suppressed));
  REQUIRE(budget.allow(t0 + 1s, &suppressed));
  CHECK(suppressed == 7);
  REQUIRE(budget.allow(t0 + 1s, &suppressed));
  CHECK(suppressed == 0);
}
