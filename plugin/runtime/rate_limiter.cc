#include "plugin/runtime/rate_limiter.h"

#include <algorithm>

namespace shadow::runtime {

void TokenBucket::refill(SteadyTime now) {
  if (now <= last_) return;  // a clock that did not advance adds nothing
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

bool TokenBucket::take(SteadyTime now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool TokenBucket::full(SteadyTime now) const {
  if (now <= last_) return tokens_ >= burst_;
  double elapsed = std::chrono::duration<double>(now - last_).count();
  return tokens_ + elapsed * rate_ >= burst_;
}

RateLimiter::RateLimiter(uint32_t rate_per_s, size_t max_keys)
    : rate_(std::max<uint32_t>(rate_per_s, 1)),
      max_keys_(std::max<size_t>(max_keys, 1)),
      // burst / rate = 1 s: an untouched bucket is full again after that.
      period_(std::chrono::seconds(1)) {}

bool RateLimiter::allow(std::string_view key, SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now >= next_sweep_) sweep(now);  // O(n), at most once per period
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) buckets_.erase(buckets_.begin());
    it = buckets_.emplace(std::string(key), TokenBucket(rate_, rate_, now)).first;
  }
  return it->second.take(now);
}

size_t RateLimiter::tracked_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

void RateLimiter::sweep(SteadyTime now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.full(now)) it = buckets_.erase(it);
    else ++it;
  }
  next_sweep_ = now + period_;
}

bool LogBudget::allow(SteadyTime now, uint64_t* suppressed) {
  if (!bucket_.take(now)) {
    suppressed_++;
    return false;
  }
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace shadow::runtime
