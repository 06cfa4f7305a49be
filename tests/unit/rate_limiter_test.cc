// Token buckets: the per-thing request rate limit and the log budget.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "plugin/runtime/rate_limiter.h"

using shadow::runtime::LogBudget;
using shadow::runtime::RateLimiter;
using shadow::runtime::SteadyTime;
using shadow::runtime::TokenBucket;
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

TEST_CASE("rate limiter: shared by threads, a second never allows more than the burst",
          "[ratelimit]") {
  // The broker thread and the REST workers share one limiter. The threads
  // walk the same fresh keys in step, all at the same instant: without the
  // lock, racing creations and take()s would hand out extra tokens.
  constexpr int kThreads = 4, kKeys = 300, kCallsPerKey = 12, kBurst = 7;
  RateLimiter limiter(kBurst);
  std::atomic<bool> go{false};
  std::atomic<int> done_at_t0{0};  // a barrier: no thread runs ahead to t0 + 500 ms
  std::vector<std::atomic<int>> allowed_at_t0(kKeys), allowed_later(kKeys);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < kKeys; k++) {
        std::string key = "k" + std::to_string(k);
        for (int i = 0; i < kCallsPerKey; i++) allowed_at_t0[k] += limiter.allow(key, t0) ? 1 : 0;
      }
      done_at_t0++;
      while (done_at_t0.load() < kThreads) std::this_thread::yield();
      // Half a second later each bucket has earned floor(3.5) tokens more.
      for (int k = 0; k < kKeys; k++) {
        std::string key = "k" + std::to_string(k);
        for (int i = 0; i < kCallsPerKey; i++)
          allowed_later[k] += limiter.allow(key, t0 + 500ms) ? 1 : 0;
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  int wrong = 0;
  for (int k = 0; k < kKeys; k++) {
    if (allowed_at_t0[k].load() != kBurst || allowed_later[k].load() != 3) wrong++;
  }
  CHECK(wrong == 0);
  CHECK(limiter.tracked_keys() == kKeys);
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
