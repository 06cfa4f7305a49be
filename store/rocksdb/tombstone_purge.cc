#include "store/rocksdb/tombstone_purge.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>
#include <string>

#include "store/rocksdb/rocksdb_store.h"

namespace shadow::rocksdb_purge {
namespace {

// A tombstone's deleted_at, or false when `value` is no tombstone of a shadow.
bool tombstone_time(std::string_view key, std::string_view value, int64_t* deleted_at) {
  if (key.substr(0, rocksdb_format::kShadowPrefix.size()) != rocksdb_format::kShadowPrefix) return false;
  ShadowRecord record;
  if (!rocksdb_format::decode_record(value, &record).is_ok()) return false;  // keep what we cannot read
  if (!record.deleted) return false;
  *deleted_at = record.deleted_at;
  return true;
}

class ExpiredTombstoneFilter final : public rocksdb::CompactionFilter {
 public:
  ExpiredTombstoneFilter(int64_t retention_s, int64_t now) : retention_s_(retention_s), now_(now) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    // Removing a key here hides its older versions too: RocksDB turns it
    // into a deletion unless nothing older can exist below.
    return expired_tombstone(key.ToStringView(), value.ToStringView(), retention_s_, now_);
  }
  const char* Name() const override { return "shadow.ExpiredTombstoneFilter"; }

 private:
  int64_t retention_s_;
  int64_t now_;
};

class FilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  explicit FilterFactory(int64_t retention_s) : retention_s_(retention_s) {}

  bool ShouldFilterTableFileCreation(rocksdb::TableFileCreationReason reason) const override {
    return reason == rocksdb::TableFileCreationReason::kCompaction ||
           reason == rocksdb::TableFileCreationReason::kFlush ||
           reason == rocksdb::TableFileCreationReason::kRecovery;
  }
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    // One clock reading per compaction: the decision cannot flip inside it.
    return std::make_unique<ExpiredTombstoneFilter>(retention_s_, static_cast<int64_t>(std::time(nullptr)));
  }
  const char* Name() const override { return "shadow.ExpiredTombstoneFilterFactory"; }

 private:
  int64_t retention_s_;
};

class TombstoneCollector final : public rocksdb::TablePropertiesCollector {
 public:
  rocksdb::Status AddUserKey(const rocksdb::Slice& key, const rocksdb::Slice& value, rocksdb::EntryType type,
                             rocksdb::SequenceNumber /*seq*/, uint64_t /*file_size*/) override {
    int64_t deleted_at = 0;
    if (type == rocksdb::kEntryPut && tombstone_time(key.ToStringView(), value.ToStringView(), &deleted_at)) {
      ++count_;
      oldest_ = std::min(oldest_, deleted_at);
    }
    return rocksdb::Status::OK();
  }
  rocksdb::Status Finish(rocksdb::UserCollectedProperties* properties) override {
    *properties = GetReadableProperties();
    return rocksdb::Status::OK();
  }
  rocksdb::UserCollectedProperties GetReadableProperties() const override {
    rocksdb::UserCollectedProperties p;
    p[kTombstoneCount] = std::to_string(count_);
    if (count_ > 0) p[kOldestTombstone] = std::to_string(oldest_);
    return p;
  }
  const char* Name() const override { return "shadow.TombstoneCollector"; }

 private:
  uint64_t count_ = 0;
  int64_t oldest_ = std::numeric_limits<int64_t>::max();
};

class CollectorFactory final : public rocksdb::TablePropertiesCollectorFactory {
 public:
  rocksdb::TablePropertiesCollector* CreateTablePropertiesCollector(
      rocksdb::TablePropertiesCollectorFactory::Context /*context*/) override {
    return new TombstoneCollector();
  }
  const char* Name() const override { return "shadow.TombstoneCollectorFactory"; }
};

bool parse_i64(const std::string& text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool expired_tombstone(std::string_view key, std::string_view value, int64_t retention_s, int64_t now) {
  if (retention_s <= 0) return false;
  int64_t deleted_at = 0;
  if (!tombstone_time(key, value, &deleted_at)) return false;
  // The engine's rule for an expired tombstone (read_current in
  // shadow_core/service.cc), written so that it cannot overflow.
  return deleted_at <= now && now - deleted_at >= retention_s;
}

std::shared_ptr<rocksdb::CompactionFilterFactory> make_filter_factory(int64_t retention_s) {
  return std::make_shared<FilterFactory>(retention_s);
}

std::shared_ptr<rocksdb::TablePropertiesCollectorFactory> make_collector_factory() {
  return std::make_shared<CollectorFactory>();
}

bool needs_purge(const rocksdb::UserCollectedProperties& properties, int64_t retention_s, int64_t now) {
  if (retention_s <= 0) return false;
  auto count = properties.find(kTombstoneCount);
  if (count == properties.end()) return true;  // written before tombstones were counted
  int64_t n = 0;
  if (!parse_i64(count->second, &n) || n == 0) return false;
  auto oldest = properties.find(kOldestTombstone);
  int64_t at = 0;
  if (oldest == properties.end() || !parse_i64(oldest->second, &at)) return false;
  return at <= now && now - at >= retention_s;
}

}  // namespace shadow::rocksdb_purge
