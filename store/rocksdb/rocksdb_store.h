// A Store kept in a RocksDB database: the durable store of the broker plugin.
//
// Layout. One RocksDB key per shadow (see rocksdb_format below). All shadows
// of a thing share the key prefix "s/" + thing + '\0', so listing a thing's
// named shadows is one prefix scan, and the classic shadow (empty name) is
// the first key of that range.
//
// Concurrency. Every method may be called from any thread. RocksDB has no
// compare-and-set, so compare_and_set serialises the writers of one key with
// a striped mutex around read-compare-write. The database directory is locked
// by RocksDB: a second RocksDbStore (in this or another process) on the same
// path fails to open.
//
// Durability (what a kOk from compare_and_set promises):
// - sync_writes = false (default): the write is in RocksDB's write-ahead log,
//   handed to the kernel with write(2), before compare_and_set returns. It
//   survives a crash of the broker process (kill -9, segfault, OOM kill).
//   An OS crash or power loss can lose the writes of the last few seconds
//   that the kernel had not written back yet; what survives is a prefix of
//   the writes (the log is replayed up to its last complete record), never
//   a torn record. flush_wal(true) makes everything written so far
//   power-safe.
// - sync_writes = true: the write-ahead log is fsynced before
//   compare_and_set returns, so the write survives power loss too (on disks
//   that honour flushes). This costs one fsync per write (a few hundred
//   microseconds on SSDs, far more on slow disks). The broker plugin does
//   not use it: its durable mode opens the store with sync_writes = false
//   and fsyncs in batches with flush_wal(true) (plugin/group_commit.h).
// Nothing is acknowledged that is not at least in the write-ahead log.
//
// Memory is bounded by the options: the block cache, two write buffers of
// write_buffer_size, and the table readers of at most max_open_files files.
//
// Damaged write-ahead log (see wal_recovery.h). A crash can leave the last
// record of the log half-written; that record was never acknowledged and is
// dropped silently. Damage anywhere else (a checksum mismatch in the middle,
// a log missing after a crash) would silently drop acknowledged writes, so
// with WalRecovery::kStrict open() refuses with an error that names the file,
// what was found and how to recover; with kPointInTime it keeps a copy of the
// log files in the database directory, recovers everything before the damage
// and says in recovery_report() how many bytes were dropped.
//
// Background errors. RocksDB stops accepting writes after some failures of
// its background work or of the log (out of file descriptors, disk full,
// I/O errors) and, for most of them, does not resume by itself. The store
// then reports health() as unavailable and a maintenance thread retries with
// a bounded backoff: DB::Resume(), or, when RocksDB calls the error fatal,
// closing and reopening the database (which replays the log: nothing
// acknowledged is lost). Operations fail with I/O errors until it recovered.
// The owner hears of both transitions through the health listener.
//
// Tombstones. With tombstone_retention_s > 0, tombstones older than that are
// purged from the database: a compaction filter drops them whenever RocksDB
// rewrites a file, and the maintenance thread compacts the table files that
// hold expired tombstones (it knows them from a table property), so disk use
// comes back even when nothing else is written. Expired tombstones count as
// absent for the engine already (shadow_core/service.cc), so purging one
// changes no answer.
//
// A clean close flushes the write buffer to table files, so the write-ahead
// log is empty afterwards; a marker file (kInUseMarker) is present from open
// to a clean close, which is how the next open knows whether a missing log
// lost writes.
//
// Nothing here throws; every fallible call returns a Status.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

#include "store/store.h"

namespace rocksdb {
class DB;
class Status;
}

namespace shadow {

// What open() does with a damaged write-ahead log (see above).
enum class WalRecovery {
  kStrict,       // refuse to open
  kPointInTime,  // keep the damaged files aside, recover up to the damage
};

struct RocksDbOptions {
  std::string path;          // database directory; created if missing (its parent must exist)
  bool sync_writes = false;  // fsync the write-ahead log on every write (see above)
  uint64_t block_cache_bytes = 32ull << 20;   // LRU cache of data, index and filter blocks
  uint64_t write_buffer_size = 16ull << 20;   // one memtable; at most two are kept
  int max_open_files = 256;                   // table files kept open
  // RocksDB's own diagnostic log ("LOG" in the database directory).
  uint64_t max_log_file_size = 1ull << 20;    // rotate after this many bytes
  size_t keep_log_file_num = 3;               // old LOG files kept
  bool verbose_log = false;                   // false: warnings and errors only
  WalRecovery wal_recovery = WalRecovery::kStrict;
  // Tombstones whose deleted_at is this many seconds old are purged; 0 keeps
  // them forever. Must equal the engine's Config::tombstone_retention_s.
  int64_t tombstone_retention_s = 0;
  // How often the maintenance thread looks for table files with expired
  // tombstones; zero: min(tombstone_retention_s, 10 minutes).
  std::chrono::milliseconds purge_check_interval{0};
  // The pause between two recovery attempts after a background error starts
  // at the first and doubles up to the second.
  std::chrono::milliseconds recovery_backoff_min{500};
  std::chrono::milliseconds recovery_backoff_max{10000};
};

// A change of the store's health, told to the health listener.
struct StoreHealthEvent {
  bool healthy = true;  // false: the database failed; true: it recovered
  std::string detail;   // failed: RocksDB's error; recovered: how, and after how long
};

class RocksDbStore final : public Store {
 public:
  // The file present while a store has the database open (see above).
  static constexpr const char* kInUseMarker = "SHADOW-IN-USE";

  // Opens (creating if missing) the database at options.path. On failure an
  // I/O error with a message that says what went wrong and what to do about
  // it (directory not writable by the broker's user, locked by another
  // broker, corrupt database, damaged write-ahead log).
  static StatusOr<std::unique_ptr<RocksDbStore>> open(const RocksDbOptions& options);

  // Stops the maintenance thread, flushes the write buffer and closes.
  ~RocksDbStore() override;
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  // Store interface. A stored value that cannot be decoded (corruption, or a
  // format written by a newer version) is reported as an I/O error.
  Status get(const StoreKey& key, ShadowRecord* out) override;
  // The record and `items` go in one WriteBatch.
  Status compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                         const ShadowRecord& next, const std::vector<ItemChange>& items = {}) override;
  Status list_named(std::string_view thing, std::string_view after, size_t limit,
                    std::vector<std::string>* names, bool* more) override;
  // One scan over the whole "s/" key range from `after`; tombstones are
  // read and skipped.
  Status list_shadows(const StoreKey& after, size_t limit, std::vector<StoreKey>* keys,
                      bool* more) override;
  // One iterator (hence one implicit snapshot) over the key range of the
  // prefix; it does not fill the block cache, so a full-fleet scan does not
  // evict the blocks that serve ordinary requests.
  Status scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                      const ShadowVisitor& visit) override;
  Status get_item(std::string_view space, std::string_view key, std::string* value) override;
  Status put_item(std::string_view space, std::string_view key, std::string_view value,
                  ItemWrite mode) override;
  Status delete_item(std::string_view space, std::string_view key) override;
  Status list_items(std::string_view space, std::string_view prefix, std::string_view after,
                    size_t limit, std::vector<Item>* items, bool* more) override;
  // Unavailable, with RocksDB's error, from a background error until the
  // database recovered.
  Status health() const override;

  // Called on the maintenance thread when the database fails and when it
  // has recovered (once each per incident). It must not block for long and
  // must not call back into the store. Replacing or clearing it (nullptr)
  // waits for a call in progress, so the old listener is unused afterwards.
  using HealthListener = std::function<void(const StoreHealthEvent&)>;
  void set_health_listener(HealthListener listener);

  // What open() recovered from a damaged write-ahead log with
  // WalRecovery::kPointInTime (what was dropped, where the damaged files
  // are kept); empty when there was nothing to recover. For the error log.
  const std::string& recovery_report() const { return recovery_report_; }

  // Writes buffered write-ahead-log data to the OS and, if `sync`, fsyncs
  // the log: afterwards every earlier acknowledged write survives power loss.
  // Meant for group commit when sync_writes is false.
  Status flush_wal(bool sync);

  // RocksDB's sequence number of the latest applied write. Writes are
  // numbered in apply order, and a number is published only once its write
  // is in the write-ahead log and visible to reads. So every write numbered
  // up to a value read before flush_wal(true) is durable once that call
  // returns OK: the basis of the plugin's group commit
  // (plugin/group_commit.h). Any thread; a cheap atomic read. Numbers keep
  // growing across a reopen after a background error.
  uint64_t latest_sequence();

  // Bytes on disk in table files plus bytes in memtables (the write-ahead
  // log is not counted). An estimate for metrics.
  uint64_t approximate_size_bytes();

  // RocksDB's estimate of the number of keys (shadows and tombstones).
  uint64_t count_estimate();

  // Compacts the table files that hold tombstones older than the retention
  // (and files written before tombstones were tracked), which drops those
  // tombstones. The maintenance thread calls it periodically; tests call it
  // to purge now. OK when there was nothing to do or the purge is off.
  Status purge_expired_tombstones();

  const RocksDbOptions& options() const { return options_; }

 // Implementation detail, public only for RocksDB's event listener (in the
  // .cc file): the health state.
  struct Health;

 private:
  static constexpr size_t kStripes = 64;

  explicit RocksDbStore(const RocksDbOptions& options);
  std::mutex& stripe_for(const std::string& encoded_key);
  // The maintenance thread: recovery after background errors, tombstone purge.
  void maintain();
  // One recovery attempt: Resume(), or close and reopen.
  Status try_recover(std::string* report);
  // A write failed: if RocksDB has stopped writes, the store has failed
  // (whether or not its listener has said so).
  void note_write_failure(const rocksdb::Status& s);
  void tell(const StoreHealthEvent& event);

  RocksDbOptions options_;
  std::shared_ptr<Health> health_;  // shared with RocksDB's event listener
  // Readers and writers hold it shared while they use db_; a reopen holds
  // it exclusively. db_ is null when a reopen failed.
  mutable std::shared_mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  std::string recovery_report_;
  std::array<std::mutex, kStripes> stripes_;
  std::mutex listener_mu_;
  HealthListener listener_;
  std::thread maintenance_;
};

// The on-disk encoding, exposed so that tests can pin it and craft values.
// Changing it needs a new format byte and a decoder for the old one.
namespace rocksdb_format {

// Key: "s/" + thing + '\0' + shadow. Thing names never contain '\0', so the
// encoding is unambiguous; byte order sorts a thing's classic shadow first,
// then its named shadows in byte order of their names.
std::string shadow_key(std::string_view thing, std::string_view shadow);
// The common prefix of every key of `thing`: "s/" + thing + '\0'.
std::string thing_prefix(std::string_view thing);
// The common prefix of every shadow key: "s/".
inline constexpr std::string_view kShadowPrefix = "s/";
// Item key: "x/" + space + '\0' + key; the value is stored as given.
std::string item_key(std::string_view space, std::string_view key);
// The inverse of shadow_key: false when `key` is not "s/" + thing + '\0' +
// shadow with a non-empty thing.
bool parse_shadow_key(std::string_view key, StoreKey* out);

// Value, format 1 (integers little-endian):
//   [0]      format byte, 1
//   [1..8]   version, u64
//   [9]      flags: bit 0 = deleted (tombstone); other bits must be 0
//   [10..17] deleted_at, i64 epoch seconds
//   [18..]   document bytes
inline constexpr uint8_t kFormatV1 = 1;
inline constexpr size_t kHeaderSize = 18;
std::string encode_record(const ShadowRecord& record);
// An I/O error (with a reason) for short values, unknown formats or flags.
Status decode_record(std::string_view value, ShadowRecord* out);

}  // namespace rocksdb_format

}  // namespace shadow
