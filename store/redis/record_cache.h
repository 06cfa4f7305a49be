// What a RedisStore last read or wrote for each shadow record, as stored
// (the encoded bytes), so that the read of a read-modify-write can skip its
// network round trip (Store::get_for_update).
//
// An entry may be stale: another broker may have written the record since.
// That is safe because the write that follows compares the whole stored
// record with the cached one inside the commit script, and a mismatch is a
// conflict (the engine then reads again). Comparing the whole record, not
// only its (version, deleted) stamp, matters after a failover that lost
// acknowledged writes: versions are then handed out again, and a stale entry
// could carry the stamp of a different record.
//
// Bounded: at most `capacity` entries; a full stripe drops an arbitrary
// entry. Thread-safe (striped locks). Pure code.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace shadow::redis {

class RecordCache {
 public:
  // capacity 0: nothing is kept.
  explicit RecordCache(size_t capacity);

  std::optional<std::string> find(const std::string& key) const;
  void put(const std::string& key, std::string value);
  void erase(const std::string& key);
  size_t size() const;

 private:
  static constexpr size_t kStripes = 16;
  struct Stripe {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::string> entries;
  };
  Stripe& stripe_for(const std::string& key) const;

  const size_t per_stripe_;
  mutable std::array<Stripe, kStripes> stripes_;
};

}  // namespace shadow::redis
