#include "store/redis/record_cache.h"

#include <functional>

namespace shadow::redis {

RecordCache::RecordCache(size_t capacity) : per_stripe_((capacity + kStripes - 1) / kStripes) {}

RecordCache::Stripe& RecordCache::stripe_for(const std::string& key) const {
  return stripes_[std::hash<std::string>{}(key) % kStripes];
}

std::optional<std::string> RecordCache::find(const std::string& key) const {
  Stripe& s = stripe_for(key);
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return std::nullopt;
  return it->second;
}

void RecordCache::put(const std::string& key, std::string value) {
  if (per_stripe_ == 0) return;
  Stripe& s = stripe_for(key);
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.entries.find(key);
  if (it != s.entries.end()) {
    it->second = std::move(value);
    return;
  }
  if (s.entries.size() >= per_stripe_) s.entries.erase(s.entries.begin());
  s.entries.emplace(key, std::move(value));
}

void RecordCache::erase(const std::string& key) {
  Stripe& s = stripe_for(key);
  std::lock_guard<std::mutex> g(s.mu);
  s.entries.erase(key);
}

size_t RecordCache::size() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard<std::mutex> g(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace shadow::redis
