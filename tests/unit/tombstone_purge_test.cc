// Purging expired tombstones (store/rocksdb/tombstone_purge.h): only
// tombstones older than the retention go, everything else stays, and disk
// use comes back.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include "rocksdb_test_util.h"
#include "store/rocksdb/rocksdb_store.h"
#include "store/rocksdb/tombstone_purge.h"

namespace shadow {
namespace {

using testing::live_record;
using testing::open_or_fail;
using testing::TempDir;
using testing::tombstone_record;

constexpr int kShadows = 3000;
constexpr int64_t kRetention = 100;

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

StoreKey shadow_key_of(int i) { return {"dev" + std::to_string(10000 + i), ""}; }

RocksDbOptions options_for(const std::string& path, int64_t retention) {
  RocksDbOptions o;
  o.path = path;
  o.tombstone_retention_s = retention;
  // Tests purge when they want to.
  o.purge_check_interval = std::chrono::hours(1);
  return o;
}

// The keys the database holds, read past the store (after it closed).
std::set<std::string> keys_in(const std::string& path) {
  auto db = testing::open_raw(path);
  std::vector<std::string> keys = testing::raw_keys(*db);
  return {keys.begin(), keys.end()};
}

}  // namespace

TEST_CASE("tombstone purge: the rule is the engine's, and only ever drops tombstones", "[rocksdb][purge]") {
  using rocksdb_purge::expired_tombstone;
  const std::string key = rocksdb_format::shadow_key("t", "");
  const std::string old_tombstone = rocksdb_format::encode_record(tombstone_record(3, 1000));
  CHECK(expired_tombstone(key, old_tombstone, 100, 1100));
  CHECK(expired_tombstone(key, old_tombstone, 100, 5000));
  CHECK_FALSE(expired_tombstone(key, old_tombstone, 100, 1099));  // within retention
  CHECK_FALSE(expired_tombstone(key, old_tombstone, 0, 5000));    // 0: kept forever
  CHECK_FALSE(expired_tombstone(key, old_tombstone, 100, 500));   // from the future
  // Live records, items and undecodable values are never dropped.
  CHECK_FALSE(expired_tombstone(key, rocksdb_format::encode_record(live_record(3, "{}")), 100, 5000));
  CHECK_FALSE(expired_tombstone(rocksdb_format::item_key("rules", "r1"), old_tombstone, 100, 5000));
  CHECK_FALSE(expired_tombstone(key, "garbage", 100, 5000));
  std::string unknown_flags = old_tombstone;
  unknown_flags[9] = '\x03';
  CHECK_FALSE(expired_tombstone(key, unknown_flags, 100, 5000));

  using rocksdb_purge::needs_purge;
  rocksdb::UserCollectedProperties none;
  CHECK(needs_purge(none, 100, 5000));  // written before tombstones were counted
  CHECK_FALSE(needs_purge(none, 0, 5000));
  rocksdb::UserCollectedProperties clean{{rocksdb_purge::kTombstoneCount, "0"}};
  CHECK_FALSE(needs_purge(clean, 100, 5000));
  rocksdb::UserCollectedProperties some{{rocksdb_purge::kTombstoneCount, "7"},
                                        {rocksdb_purge::kOldestTombstone, "1000"}};
  CHECK(needs_purge(some, 100, 1100));
  CHECK_FALSE(needs_purge(some, 100, 1099));
}

TEST_CASE("tombstone purge: expired tombstones leave the disk, nothing else does", "[rocksdb][purge]") {
  TempDir dir;
  const int64_t now = now_s();
  const std::string doc(1000, 'd');
  // The shadows, in table files: the store flushes when it closes.
  {
    auto store = open_or_fail(options_for(dir.db(), 0));
    for (int i = 0; i < kShadows; ++i)
      REQUIRE(store->compare_and_set(shadow_key_of(i), std::nullopt, live_record(1, doc)).is_ok());
    REQUIRE(store->put_item("rules", "r1", "rule", ItemWrite::kReplace).is_ok());
  }
  const uint64_t with_shadows = testing::table_bytes(dir.db());
  // Deleted long ago, by a broker that kept tombstones forever (retention
  // 0: neither filter nor purge), plus a few within the retention and live.
  {
    auto store = open_or_fail(options_for(dir.db(), 0));
    for (int i = 0; i < kShadows; ++i) {
      int64_t deleted_at = i < 10 ? now - 10 : now - 1000;  // the first ten are recent
      if (i >= kShadows - 10) continue;                      // the last ten stay live
      REQUIRE(store->compare_and_set(shadow_key_of(i), RecordStamp{1, false}, tombstone_record(2, deleted_at)).is_ok());
    }
  }
  CHECK(keys_in(dir.db()).size() == kShadows + 1);
  const uint64_t with_tombstones = testing::table_bytes(dir.db());
  CHECK(with_tombstones >= with_shadows);

  {
    auto store = open_or_fail(options_for(dir.db(), kRetention));
    REQUIRE(store->purge_expired_tombstones().is_ok());
    // The engine's view is unchanged: recent tombstones and live shadows
    // are there, expired ones read as never created.
    ShadowRecord r;
    REQUIRE(store->get(shadow_key_of(0), &r).is_ok());
    CHECK(r.deleted);
    CHECK(r.version == 2);
    CHECK(store->get(shadow_key_of(500), &r).is_not_found());
    REQUIRE(store->get(shadow_key_of(kShadows - 1), &r).is_ok());
    CHECK_FALSE(r.deleted);
    std::string value;
    CHECK(store->get_item("rules", "r1", &value).is_ok());
    // A shadow created again after the purge starts from nothing.
    CHECK(store->compare_and_set(shadow_key_of(500), std::nullopt, live_record(1, "{}")).is_ok());
  }
  std::set<std::string> keys = keys_in(dir.db());
  CHECK(keys.size() == 10 + 10 + 1 + 1);  // recent tombstones, live, re-created, the item
  for (int i = 0; i < 10; ++i) CHECK(keys.count(rocksdb_format::shadow_key(shadow_key_of(i).thing, "")));
  for (int i = kShadows - 10; i < kShadows; ++i) CHECK(keys.count(rocksdb_format::shadow_key(shadow_key_of(i).thing, "")));
  CHECK(keys.count(rocksdb_format::shadow_key(shadow_key_of(500).thing, "")));
  CHECK(keys.count(rocksdb_format::item_key("rules", "r1")));
  // Disk use came back: the deleted documents and their tombstones are gone.
  const uint64_t after = testing::table_bytes(dir.db());
  INFO("table bytes: shadows " << with_shadows << ", deleted " << with_tombstones << ", purged " << after);
  CHECK(after * 10 < with_shadows);
}

TEST_CASE("tombstone purge: the store purges by itself, also in files written before it counted",
          "[rocksdb][purge]") {
  TempDir dir;
  // Tombstones written without the store's table properties (as by an
  // earlier version), in a table file.
  {
    auto db = testing::open_raw(dir.db());
    for (int i = 0; i < 100; ++i) {
      std::string value = rocksdb_format::encode_record(tombstone_record(4, now_s() - 1000));
      REQUIRE(db->Put(rocksdb::WriteOptions(), rocksdb_format::shadow_key("old" + std::to_string(i), ""), value).ok());
    }
    REQUIRE(db->Flush(rocksdb::FlushOptions()).ok());
  }
  REQUIRE(keys_in(dir.db()).size() == 100);
  {
    RocksDbOptions o = options_for(dir.db(), kRetention);
    o.purge_check_interval = std::chrono::milliseconds(20);
    auto store = open_or_fail(o);
    // The maintenance thread purges within a few checks; bounded wait.
    bool purged = false;
    for (int i = 0; i < 500 && !purged; ++i) {
      purged = store->count_estimate() == 0;
      if (!purged) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(purged);
  }
  CHECK(keys_in(dir.db()).empty());
}

TEST_CASE("tombstone purge: a flush drops tombstones that expired in the write buffer", "[rocksdb][purge]") {
  TempDir dir;
  {
    auto store = open_or_fail(options_for(dir.db(), kRetention));
    REQUIRE(store->compare_and_set({"gone", ""}, std::nullopt, tombstone_record(5, now_s() - 1000)).is_ok());
    REQUIRE(store->compare_and_set({"kept", ""}, std::nullopt, tombstone_record(5, now_s())).is_ok());
  }  // the close flushes
  std::set<std::string> keys = keys_in(dir.db());
  CHECK(keys == std::set<std::string>{rocksdb_format::shadow_key("kept", "")});
}

}  // namespace shadow
