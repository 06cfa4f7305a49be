// Purging tombstones older than the retention (rocksdb_store.h, "Tombstones").
//
// Two RocksDB hooks work together:
// - a compaction filter that drops every shadow tombstone whose deleted_at
//   is at least the retention old, in compactions and also in flushes (so a
//   write buffer full of expired tombstones never reaches a table file);
// - a table-properties collector that records in every table file how many
//   tombstones it holds and the oldest one's deleted_at, so the store can
//   find the files worth compacting without reading them.
// Nothing else is ever dropped: live records, items, values that do not
// decode and tombstones within the retention are kept as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/table_properties.h>

namespace shadow::rocksdb_purge {

// The user properties of the collector.
inline constexpr const char* kTombstoneCount = "shadow.tombstones";
inline constexpr const char* kOldestTombstone = "shadow.oldest_tombstone_s";  // epoch s

// Whether the record (`key`, `value`) is a shadow tombstone deleted at least
// `retention_s` seconds before `now`. Never true for retention_s <= 0.
bool expired_tombstone(std::string_view key, std::string_view value, int64_t retention_s, int64_t now);

// The filter (only worth installing with retention_s > 0).
std::shared_ptr<rocksdb::CompactionFilterFactory> make_filter_factory(int64_t retention_s);

std::shared_ptr<rocksdb::TablePropertiesCollectorFactory> make_collector_factory();

// Whether a table file with these user properties holds tombstones that
// have expired by `now`, or was written before tombstones were counted (no
// properties: it is compacted once, and carries them afterwards).
bool needs_purge(const rocksdb::UserCollectedProperties& properties, int64_t retention_s, int64_t now);

}  // namespace shadow::rocksdb_purge
