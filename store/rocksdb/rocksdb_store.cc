#include "store/rocksdb/rocksdb_store.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/table_properties.h>
#include <rocksdb/write_batch.h>

#include "store/rocksdb/tombstone_purge.h"
#include "store/rocksdb/wal_recovery.h"

namespace shadow {

namespace rocksdb_format {

std::string thing_prefix(std::string_view thing) {
  std::string k;
  k.reserve(3 + thing.size());
  k.append("s/");
  k.append(thing);
  k.push_back('\0');
  return k;
}

std::string shadow_key(std::string_view thing, std::string_view shadow) {
  std::string k = thing_prefix(thing);
  k.append(shadow);
  return k;
}

std::string item_key(std::string_view space, std::string_view key) {
  std::string k;
  k.reserve(3 + space.size() + key.size());
  k.append("x/");
  k.append(space);
  k.push_back('\0');
  k.append(key);
  return k;
}

bool parse_shadow_key(std::string_view key, StoreKey* out) {
  if (key.substr(0, kShadowPrefix.size()) != kShadowPrefix) return false;
  key.remove_prefix(kShadowPrefix.size());
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos || nul == 0) return false;
  out->thing.assign(key.substr(0, nul));
  out->shadow.assign(key.substr(nul + 1));
  return true;
}

namespace {

void put_u64(std::string* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

}  // namespace

std::string encode_record(const ShadowRecord& record) {
  std::string v;
  v.reserve(kHeaderSize + record.document.size());
  v.push_back(static_cast<char>(kFormatV1));
  put_u64(&v, record.version);
  v.push_back(record.deleted ? 1 : 0);
  put_u64(&v, static_cast<uint64_t>(record.deleted_at));
  v.append(record.document);
  return v;
}

Status decode_record(std::string_view value, ShadowRecord* out) {
  if (value.size() < kHeaderSize) {
    return Status::io_error("stored value too short (" + std::to_string(value.size()) +
                                 " bytes, header needs " + std::to_string(kHeaderSize) + ")");
  }
  auto format = static_cast<uint8_t>(value[0]);
  if (format != kFormatV1) {
    return Status::io_error("stored value has unknown format " + std::to_string(format) +
                                 " (corrupt, or written by a newer version)");
  }
  auto flags = static_cast<uint8_t>(value[9]);
  if ((flags & ~uint8_t{1}) != 0) {
    return Status::io_error("stored value has unknown flags " + std::to_string(flags));
  }
  out->version = get_u64(value.data() + 1);
  out->deleted = (flags & 1) != 0;
  out->deleted_at = static_cast<int64_t>(get_u64(value.data() + 10));
  out->document.assign(value.substr(kHeaderSize));
  return Status::ok();
}

}  // namespace rocksdb_format

namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string lowercase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Turns a failed DB::Open into a message an operator can act on.
std::string describe_open_error(const std::string& path, const rocksdb::Status& s) {
  const std::string detail = s.ToString();
  const std::string lower = lowercase(detail);
  const std::string where = "shadow database '" + path + "'";
  if (s.IsCorruption()) {
    return where + " is corrupt: " + detail +
           ". Restore it from a backup, or move the directory aside to start empty.";
  }
  // Checked before the lock case: a LOCK file that cannot be created also
  // mentions "lock", but the cure is a usable directory.
  for (std::string_view cause : {"mkdir", "permission denied", "read-only file system",
                                 "not a directory", "operation not permitted"}) {
    if (contains(lower, cause)) {
      return "cannot create or write the " + where + ": " + detail +
             ". The path must name a directory, or one that can be created (its parent "
             "exists), writable by the user the broker runs as (mosquitto by default; "
             "e.g. chown -R mosquitto: <dir>).";
    }
  }
  if (contains(lower, "lock")) {
    return where + " is locked: " + detail +
           ". Is another broker using it? Only one process may open a database at a time.";
  }
  if (contains(lower, "no such file")) {
    return where + " is missing files: " + detail +
           ". Restore it from a backup, or move the directory aside to start empty.";
  }
  if (s.IsNoSpace()) {
    return "cannot open the " + where + ": the disk is full (" + detail + ").";
  }
  return "cannot open the " + where + ": " + detail;
}

Status io_error(std::string_view what, const StoreKey& key, const rocksdb::Status& s) {
  return Status::io_error(std::string(what) + " '" + key.thing + "'/'" + key.shadow +
                               "': " + s.ToString());
}

// What every operation answers while a reopen after a background error has
// not succeeded yet.
Status closed_error() {
  return Status::io_error("the shadow database is closed after a failure and is being reopened");
}

constexpr const char* kRecoveryHint =
    "Keep a copy of the directory first (cp -a DIR DIR.bak with the broker stopped). Then restore "
    "a backup, or recover everything written before the damage: add the line "
    "'plugin_opt_wal_recovery point_in_time' to the plugin's configuration and start the broker "
    "(see \"Damaged write-ahead log\" in docs/operations.md).";

std::string with_dir(std::string text, const std::string& dir) {
  for (size_t at = text.find("DIR"); at != std::string::npos; at = text.find("DIR", at + dir.size()))
    text.replace(at, 3, dir);
  return text;
}

std::string describe_damage(const std::string& path, const rocksdb_wal::WalDamage& d) {
  return "the write-ahead log " + d.file + " of the shadow database is damaged: RocksDB found '" + d.reason +
         "' and would drop " + std::to_string(d.dropped) +
         " bytes there, and every later write. Writes acknowledged after that point would be lost, so "
         "the database was not opened. " + with_dir(kRecoveryHint, path);
}

// The RocksDB hooks the store installs; they refer to the store's Health,
// which outlives every database the store opens.
class HealthEvents;

}  // namespace

// Health, shared by the store and RocksDB's event listener.
struct RocksDbStore::Health {
  std::mutex mu;
  std::condition_variable cv;
  bool failed = false;  // a background error that has not been recovered from
  std::string cause;    // RocksDB's first error of the incident
  std::string latest;   // RocksDB's latest error
  uint64_t errors = 0;  // background errors so far
  // The database instance whose errors count: a reopen starts a new one, so
  // what the old one reports while it closes is ignored.
  uint64_t instance = 0;
  bool stopping = false;
  // The WalFilter of the last point-in-time recovery. RocksDB keeps a
  // pointer to it in the options of the database it opened, so it lives as
  // long as the store.
  std::unique_ptr<rocksdb_wal::ReplayTracker> replay;
};

namespace {

class HealthEvents final : public rocksdb::EventListener {
 public:
  HealthEvents(std::shared_ptr<RocksDbStore::Health> health, uint64_t instance)
      : health_(std::move(health)), instance_(instance) {}

  // Runs on whatever thread hit the error, inside RocksDB: record and wake
  // the maintenance thread, nothing more.
  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status* error) override {
    if (error == nullptr || error->ok()) return;
    std::lock_guard<std::mutex> lock(health_->mu);
    if (instance_ != health_->instance) return;
    health_->latest = error->ToString();
    if (!health_->failed) health_->cause = health_->latest;
    health_->failed = true;
    ++health_->errors;
    health_->cv.notify_all();
  }
  // RocksDB recovered by itself (a disk that was full has room again): the
  // maintenance thread's next Resume() sees nothing to do.
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& /*info*/) override {
    std::lock_guard<std::mutex> lock(health_->mu);
    health_->cv.notify_all();
  }

 private:
  std::shared_ptr<RocksDbStore::Health> health_;
  uint64_t instance_;
};

rocksdb::Options make_options(const RocksDbOptions& options, std::shared_ptr<RocksDbStore::Health> health,
                             uint64_t instance) {
  rocksdb::BlockBasedTableOptions table;
  // RocksDB's default splits the cache into 64 shards; at 32 MB that is
  // 512 KB each, smaller than one SST's index and filter blocks (~1 MB at a
  // million shadows), which were then evicted at once and re-read on every
  // get. Shards of at least 8 MB keep them resident.
  int shard_bits = 0;
  while (shard_bits < 6 && (options.block_cache_bytes >> (shard_bits + 1)) >= (8u << 20)) ++shard_bits;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes, shard_bits);
  // Index and filter blocks live in the block cache, so the cache size
  // bounds them too instead of growing with the database.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::Options o;
  o.create_if_missing = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.write_buffer_size = options.write_buffer_size;
  o.max_write_buffer_number = 2;
  o.max_open_files = options.max_open_files;
  o.max_log_file_size = options.max_log_file_size;
  o.keep_log_file_num = options.keep_log_file_num;
  o.info_log_level = options.verbose_log ? rocksdb::INFO_LEVEL : rocksdb::WARN_LEVEL;
  o.max_manifest_file_size = 64ull << 20;
  o.max_background_jobs = 2;
  // Replays every log completely; only a half-written last record (a
  // crash's) is dropped without an error (wal_recovery.h).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.listeners.push_back(std::make_shared<HealthEvents>(std::move(health), instance));
  o.table_properties_collector_factories.push_back(rocksdb_purge::make_collector_factory());
  if (options.tombstone_retention_s > 0) {
    o.compaction_filter_factory = rocksdb_purge::make_filter_factory(options.tombstone_retention_s);
  }
  return o;
}

// Opens the database at options.path as a new instance (whose background
// errors count from now on): the strict attempt, and with
// WalRecovery::kPointInTime the recovery of a damaged log. *report says what
// a recovery dropped (empty if nothing).
StatusOr<std::unique_ptr<rocksdb::DB>> open_database(const RocksDbOptions& options,
                                                     std::shared_ptr<RocksDbStore::Health> health,
                                                     std::string* report) {
  report->clear();
  uint64_t instance = 0;
  {
    std::lock_guard<std::mutex> lock(health->mu);
    instance = ++health->instance;
  }
  const std::string& path = options.path;
  const bool point_in_time = options.wal_recovery == WalRecovery::kPointInTime;
  std::error_code ec;
  const bool existing = fs::exists(path + "/CURRENT", ec);
  const bool unclean = fs::exists(path + "/" + RocksDbStore::kInUseMarker, ec);
  const std::vector<rocksdb_wal::WalFile> wals = rocksdb_wal::list_wal_files(path);

  // Every open database has a log file (maybe empty). None after a crash
  // means someone deleted it, and with it the writes not yet in table files.
  if (existing && unclean && wals.empty()) {
    std::string what = "the write-ahead log of the shadow database '" + path +
                       "' is missing although the broker did not shut down cleanly: the writes that "
                       "were only in that log (up to the last 16 MiB or so) are lost";
    if (!point_in_time) {
      return Status::io_error(what + ". The database was not opened. " + with_dir(kRecoveryHint, path));
    }
    *report = what + " (plugin_opt_wal_recovery point_in_time: opened with what the table files hold)";
  }

  rocksdb::Options o = make_options(options, health, instance);
  std::shared_ptr<rocksdb::Logger> file_log;
  rocksdb::Status s = rocksdb::CreateLoggerFromOptions(path, o, &file_log);
  if (!s.ok()) return Status::io_error(describe_open_error(path, s));
  auto capture = std::make_shared<rocksdb_wal::DamageCapturingLogger>(file_log);
  o.info_log = capture;

  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(o, path, &db);
  if (s.ok()) return std::unique_ptr<rocksdb::DB>(db);
  delete db;
  std::vector<rocksdb_wal::WalDamage> damage = capture->damage();
  if (!s.IsCorruption() || damage.empty()) return Status::io_error(describe_open_error(path, s));
  if (!point_in_time) return Status::io_error(describe_damage(path, damage.front()));

  // Point-in-time recovery: keep the logs as they are, then replay each up
  // to its first damage.
  auto aside = rocksdb_wal::keep_aside(path, wals);
  if (!aside.ok()) return Status::io_error(describe_damage(path, damage.front()) + " " + aside.status().message());
  auto owned_tracker = std::make_unique<rocksdb_wal::ReplayTracker>();
  rocksdb_wal::ReplayTracker& tracker = *owned_tracker;
  {
    // Only ever replaced while no database is open (open, or a reopen after
    // the old one was closed).
    std::lock_guard<std::mutex> lock(health->mu);
    health->replay = std::move(owned_tracker);
  }
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.wal_filter = &tracker;
  s = rocksdb::DB::Open(o, path, &db);
  if (!s.ok()) {
    delete db;
    return Status::io_error(describe_open_error(path, s));
  }
  // Everything from the damaged file on that was not replayed is lost.
  const uint64_t first_damaged = [&] {
    for (const auto& w : wals)
      if (w.path == damage.front().file || fs::path(w.path).filename() == fs::path(damage.front().file).filename())
        return w.number;
    return wals.empty() ? uint64_t{0} : wals.front().number;
  }();
  uint64_t dropped = 0;
  size_t files = 0;
  for (const auto& w : wals) {
    if (w.number < first_damaged) continue;
    uint64_t replayed = std::min(tracker.replayed(w.number), w.size);
    if (replayed < w.size) {
      dropped += w.size - replayed;
      ++files;
    }
  }
  std::string text = "recovered the shadow database '" + path + "' from a damaged write-ahead log: " +
                     damage.front().file + " has '" + damage.front().reason + "'; " + std::to_string(dropped) +
                     " bytes of the log (in " + std::to_string(files) +
                     (files == 1 ? " file" : " files") +
                     ") after that point were dropped, and every write in them is lost. The log files as they "
                     "were are kept in " + *aside;
  *report = report->empty() ? text : *report + "; " + text;
  return std::unique_ptr<rocksdb::DB>(db);
}

void write_marker(const std::string& path) {
  std::ofstream(path + "/" + RocksDbStore::kInUseMarker, std::ios::trunc)
      << "The shadow plugin has this database open; a clean shutdown removes this file.\n";
}

}  // namespace

StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::open(const RocksDbOptions& options) {
  if (options.path.empty()) return Status::io_error("shadow database path is empty");
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(options));
  auto db = open_database(options, store->health_, &store->recovery_report_);
  if (!db.ok()) return db.status();
  store->db_ = std::move(db).value();
  write_marker(options.path);
  store->maintenance_ = std::thread([s = store.get()] { s->maintain(); });
  return store;
}

RocksDbStore::RocksDbStore(const RocksDbOptions& options)
    : options_(options), health_(std::make_shared<Health>()) {}

RocksDbStore::~RocksDbStore() {
  {
    std::lock_guard<std::mutex> lock(health_->mu);
    health_->stopping = true;
    health_->cv.notify_all();
  }
  if (maintenance_.joinable()) maintenance_.join();
  std::unique_lock<std::shared_mutex> lock(db_mu_);
  if (!db_) return;
  // Flushing first leaves an empty write-ahead log, so a log lost while the
  // broker is stopped loses nothing. A failed flush or close leaves the
  // marker: the next open treats this like a crash. Close waits for
  // background work; its status has nowhere else to go.
  bool clean = db_->Flush(rocksdb::FlushOptions()).ok();
  clean = db_->Close().ok() && clean;
  db_.reset();
  if (clean) {
    std::error_code ec;
    fs::remove(options_.path + "/" + kInUseMarker, ec);
  }
}

Status RocksDbStore::health() const {
  std::lock_guard<std::mutex> lock(health_->mu);
  if (!health_->failed) return Status::ok();
  return Status::unavailable("the shadow database failed and is recovering: " + health_->cause);
}

void RocksDbStore::set_health_listener(HealthListener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

void RocksDbStore::tell(const StoreHealthEvent& event) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_(event);
}

void RocksDbStore::note_write_failure(const rocksdb::Status& s) {
  // Soft errors leave writes working; harder ones stop them.
  if (s.severity() < rocksdb::Status::Severity::kHardError) return;
  std::lock_guard<std::mutex> lock(health_->mu);
  if (health_->failed) return;
  health_->failed = true;
  health_->cause = health_->latest = s.ToString();
  ++health_->errors;
  health_->cv.notify_all();
}

Status RocksDbStore::try_recover(std::string* report) {
  {
    std::shared_lock<std::shared_mutex> lock(db_mu_);
    if (db_) {
      // OK when RocksDB has nothing to resume (it recovered by itself).
      rocksdb::Status s = db_->Resume();
      if (s.ok()) {
        // RocksDB tells its listeners before it stores the error, so a
        // Resume() that came too early finds nothing to do. A write of
        // nothing (no side effect) fails while writes are stopped.
        rocksdb::WriteBatch nothing;
        s = db_->Write(rocksdb::WriteOptions(), &nothing);
      }
      if (s.ok()) return Status::ok();
      if (s.IsBusy()) return Status::unavailable("RocksDB is recovering by itself");
      // Fatal errors (a log file that could not be created, for one) are
      // beyond Resume(): only a reopen, which replays the log, clears them.
      if (s.severity() < rocksdb::Status::Severity::kFatalError) return Status::io_error(s.ToString());
    }
  }
  std::unique_lock<std::shared_mutex> lock(db_mu_);
  {
    // From here on, what the old instance reports is history.
    std::lock_guard<std::mutex> health_lock(health_->mu);
    ++health_->instance;
  }
  if (db_) {
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  auto db = open_database(options_, health_, report);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  return Status::ok();
}

void RocksDbStore::maintain() {
  using Clock = std::chrono::steady_clock;
  const bool purging = options_.tombstone_retention_s > 0;
  std::chrono::milliseconds purge_every = options_.purge_check_interval;
  if (purge_every.count() <= 0) {
    purge_every = std::chrono::seconds(std::clamp<int64_t>(options_.tombstone_retention_s, 1, 600));
  }
  Clock::time_point next_purge = Clock::now() + purge_every;
  std::chrono::milliseconds backoff = options_.recovery_backoff_min;
  Clock::time_point failed_since{};
  bool told = false;

  std::unique_lock<std::mutex> lock(health_->mu);
  while (!health_->stopping) {
    if (health_->failed) {
      if (!told) {
        told = true;
        failed_since = Clock::now();
        StoreHealthEvent failed{false, health_->cause};
        lock.unlock();
        tell(failed);
        lock.lock();
      }
      // Every attempt, the first included, comes after a pause: the cause
      // (say, descriptors taken by connections) rarely clears at once.
      health_->cv.wait_for(lock, backoff, [&] { return health_->stopping; });
      if (health_->stopping) break;
      backoff = std::min(backoff * 2, options_.recovery_backoff_max);
      const uint64_t errors_before = health_->errors;
      lock.unlock();
      std::string report;
      Status recovered = try_recover(&report);
      lock.lock();
      if (recovered.is_ok()) {
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - failed_since).count();
        if (health_->errors == errors_before) {
          health_->failed = false;
          health_->cause.clear();
        } else {
          health_->cause = health_->latest;  // failed again meanwhile: a new incident
        }
        told = false;
        backoff = options_.recovery_backoff_min;
        std::string how = "the shadow database recovered after " + std::to_string(seconds) + " s";
        if (!report.empty()) how += "; " + report;
        lock.unlock();
        tell(StoreHealthEvent{true, how});
        lock.lock();
      }
      continue;
    }
    if (purging && Clock::now() >= next_purge) {
      lock.unlock();
      (void)purge_expired_tombstones();  // retried at the next check
      lock.lock();
      next_purge = Clock::now() + purge_every;
      continue;
    }
    auto woken = [&] { return health_->stopping || health_->failed; };
    if (purging) {
      health_->cv.wait_until(lock, next_purge, woken);
    } else {
      health_->cv.wait(lock, woken);
    }
  }
}

Status RocksDbStore::purge_expired_tombstones() {
  const int64_t retention = options_.tombstone_retention_s;
  if (retention <= 0) return Status::ok();
  std::shared_lock<std::shared_mutex> lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::TablePropertiesCollection tables;
  rocksdb::Status s = db_->GetPropertiesOfAllTables(&tables);
  if (!s.ok()) return Status::io_error("reading table properties: " + s.ToString());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::set<std::string> wanted;  // file names, e.g. "000012.sst"
  for (const auto& [file, properties] : tables) {
    if (properties && rocksdb_purge::needs_purge(properties->user_collected_properties, retention, now))
      wanted.insert(fs::path(file).filename().string());
  }
  if (wanted.empty()) return Status::ok();
  // One manual compaction over the key range of those files: the filter
  // drops their expired tombstones and the versions they hid.
  std::vector<rocksdb::LiveFileMetaData> files;
  db_->GetLiveFilesMetaData(&files);
  std::string smallest, largest;
  bool any = false;
  for (const rocksdb::LiveFileMetaData& f : files) {
    if (!wanted.count(fs::path(f.name).filename().string())) continue;
    if (!any || f.smallestkey < smallest) smallest = f.smallestkey;
    if (!any || f.largestkey > largest) largest = f.largestkey;
    any = true;
  }
  if (!any) return Status::ok();  // compacted away meanwhile
  rocksdb::CompactRangeOptions c;
  c.exclusive_manual_compaction = false;  // automatic compactions go on meanwhile
  rocksdb::Slice begin(smallest), end(largest);
  s = db_->CompactRange(c, &begin, &end);
  if (!s.ok()) return Status::io_error("compacting to purge tombstones: " + s.ToString());
  return Status::ok();
}

std::mutex& RocksDbStore::stripe_for(const std::string& encoded_key) {
  return stripes_[std::hash<std::string>{}(encoded_key) % kStripes];
}

Status RocksDbStore::get(const StoreKey& key, ShadowRecord* out) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb_format::shadow_key(key.thing, key.shadow), &value);
  if (s.IsNotFound()) return Status::not_found();
  if (!s.ok()) return io_error("read of", key, s);
  return rocksdb_format::decode_record(value, out)
      .with_context("shadow '" + key.thing + "'/'" + key.shadow + "'");
}

Status RocksDbStore::compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                     const ShadowRecord& next, const std::vector<ItemChange>& items) {
  if (key.thing.find('\0') != std::string::npos) {
    // The key encoding relies on it; the engine's name rules exclude it.
    return Status::io_error("thing name contains a NUL byte");
  }
  const std::string k = rocksdb_format::shadow_key(key.thing, key.shadow);
  std::lock_guard<std::mutex> lock(stripe_for(k));
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();

  std::optional<RecordStamp> actual;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), k, &value);
  if (s.ok()) {
    ShadowRecord current;
    Status d = rocksdb_format::decode_record(value, &current);
    if (!d.is_ok()) {
      return Status::io_error("shadow '" + key.thing + "'/'" + key.shadow + "': " + d.message());
    }
    actual = stamp_of(current);
  } else if (!s.IsNotFound()) {
    return io_error("read of", key, s);
  }
  if (actual != expected) return Status::conflict();

  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  if (items.empty()) {
    s = db_->Put(w, k, rocksdb_format::encode_record(next));
  } else {
    rocksdb::WriteBatch batch;
    s = batch.Put(k, rocksdb_format::encode_record(next));
    for (const ItemChange& change : items) {
      if (!s.ok()) break;
      if (change.space.find('\0') != std::string::npos) return Status::invalid_argument("item space contains a NUL byte");
      const std::string item = rocksdb_format::item_key(change.space, change.key);
      s = change.value ? batch.Put(item, *change.value) : batch.Delete(item);
    }
    if (s.ok()) s = db_->Write(w, &batch);
  }
  if (!s.ok()) {
    note_write_failure(s);
    return io_error("write of", key, s);
  }
  return Status::ok();
}

Status RocksDbStore::list_named(std::string_view thing, std::string_view after, size_t limit,
                                     std::vector<std::string>* names, bool* more) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  names->clear();
  *more = false;
  const std::string prefix = rocksdb_format::thing_prefix(thing);
  // Every key of `thing` is prefix + name, and '\0' < '\x01', so this bound
  // ends the scan right after the thing's last shadow.
  std::string upper = prefix;
  upper.back() = '\x01';
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(prefix + std::string(after)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + prefix.size(), k.size() - prefix.size());
    if (name.empty() || name == after) continue;  // the classic shadow; `after` itself
    ShadowRecord r;
    Status d = rocksdb_format::decode_record(it->value().ToStringView(), &r);
    if (!d.is_ok()) {
      names->clear();
      return Status::io_error("shadow '" + std::string(thing) + "'/'" + std::string(name) +
                                   "': " + d.message());
    }
    if (r.deleted) continue;
    if (names->size() == limit) {
      *more = true;
      break;
    }
    names->emplace_back(name);
  }
  if (!it->status().ok()) {
    names->clear();
    *more = false;
    return Status::io_error("listing shadows of '" + std::string(thing) +
                                 "': " + it->status().ToString());
  }
  return Status::ok();
}

Status RocksDbStore::list_shadows(const StoreKey& after, size_t limit,
                                       std::vector<StoreKey>* keys, bool* more) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  keys->clear();
  *more = false;
  const std::string_view prefix = rocksdb_format::kShadowPrefix;
  // Every shadow key starts with "s/"; "s0" ('/' + 1) is the first key
  // past them, so the scan never touches keys of another kind.
  std::string upper(prefix);
  upper.back() = static_cast<char>(upper.back() + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  // A backup reads a long range once: keep it from evicting the hot blocks.
  ro.fill_cache = false;

  std::string start(prefix);
  if (!after.thing.empty()) start = rocksdb_format::shadow_key(after.thing, after.shadow);

  auto fail = [&](std::string message) {
    keys->clear();
    *more = false;
    return Status::io_error(std::move(message));
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(start); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (!after.thing.empty() && k.ToStringView() == start) continue;  // strictly after
    StoreKey key;
    if (!rocksdb_format::parse_shadow_key(k.ToStringView(), &key))
      return fail("listing shadows: malformed key '" + k.ToString(true) + "'");
    ShadowRecord r;
    Status d = rocksdb_format::decode_record(it->value().ToStringView(), &r);
    if (!d.is_ok()) return fail("shadow '" + key.thing + "'/'" + key.shadow + "': " + d.message());
    if (r.deleted) continue;
    if (keys->size() == limit) {
      *more = true;
      break;
    }
    keys->push_back(std::move(key));
  }
  if (!it->status().ok()) return fail("listing shadows: " + it->status().ToString());
  return Status::ok();
}

Status RocksDbStore::scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                                  const ShadowVisitor& visit) {
  // Held for the whole scan: a recovery (reopen) waits for it to end.
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  // Keys of the things starting with `thing_prefix`: "s/" + prefix ...; the
  // range ends where "s/" + prefix with its last byte incremented begins
  // (or at "s0", past every shadow key, for an empty prefix).
  std::string lower = std::string(rocksdb_format::kShadowPrefix) + std::string(thing_prefix);
  std::string upper = lower;
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  upper.back() = static_cast<char>(upper.back() + 1);  // never empty: "s/" is in it
  std::string start = lower;
  if (!after_thing.empty()) {
    // Past every key of `after_thing` ("s/" + thing + '\0' + shadow): thing
    // names hold no byte below '\x01', so "s/" + thing + '\x01' is next.
    std::string past = std::string(rocksdb_format::kShadowPrefix) + std::string(after_thing) + '\x01';
    if (past > start) start = past;
  }
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;
  // Scans read long runs of table files: read them in large pieces.
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(start); it->Valid(); it->Next()) {
    std::string_view k = it->key().ToStringView().substr(rocksdb_format::kShadowPrefix.size());
    size_t nul = k.find('\0');
    if (nul == std::string_view::npos || nul == 0)
      return Status::io_error("scanning shadows: malformed key '" + it->key().ToString(true) + "'");
    std::string_view thing = k.substr(0, nul), shadow = k.substr(nul + 1);
    std::string_view value = it->value().ToStringView();
    // Decoded in place (the format is rocksdb_format's): a full-fleet scan
    // should not copy every document.
    if (value.size() < rocksdb_format::kHeaderSize || static_cast<uint8_t>(value[0]) != rocksdb_format::kFormatV1 ||
        (static_cast<uint8_t>(value[9]) & ~uint8_t{1}) != 0) {
      ShadowRecord bad;
      Status d = rocksdb_format::decode_record(value, &bad);
      return Status::io_error("shadow '" + std::string(thing) + "'/'" + std::string(shadow) + "': " + d.message());
    }
    if (static_cast<uint8_t>(value[9]) & 1) continue;  // tombstone
    uint64_t version = 0;
    for (int i = 0; i < 8; ++i) version |= uint64_t{static_cast<unsigned char>(value[1 + i])} << (8 * i);
    ShadowEntry entry{thing, shadow, version, value.substr(rocksdb_format::kHeaderSize)};
    if (!visit(entry)) return Status::ok();
  }
  if (!it->status().ok()) return Status::io_error("scanning shadows: " + it->status().ToString());
  return Status::ok();
}

Status RocksDbStore::get_item(std::string_view space, std::string_view key, std::string* value) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb_format::item_key(space, key), value);
  if (s.IsNotFound()) return Status::not_found();
  if (!s.ok()) return Status::io_error("read of item '" + std::string(space) + "'/'" + std::string(key) + "': " + s.ToString());
  return Status::ok();
}

Status RocksDbStore::put_item(std::string_view space, std::string_view key, std::string_view value,
                              ItemWrite mode) {
  if (space.find('\0') != std::string_view::npos) return Status::invalid_argument("item space contains a NUL byte");
  const std::string k = rocksdb_format::item_key(space, key);
  std::lock_guard<std::mutex> lock(stripe_for(k));
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  if (mode == ItemWrite::kIfAbsent) {
    std::string existing;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), k, &existing);
    if (s.ok()) return Status::conflict();
    if (!s.IsNotFound()) return Status::io_error("read of item '" + std::string(space) + "': " + s.ToString());
  }
  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  rocksdb::Status s = db_->Put(w, k, rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) {
    note_write_failure(s);
    return Status::io_error("write of item '" + std::string(space) + "': " + s.ToString());
  }
  return Status::ok();
}

Status RocksDbStore::delete_item(std::string_view space, std::string_view key) {
  const std::string k = rocksdb_format::item_key(space, key);
  std::lock_guard<std::mutex> lock(stripe_for(k));
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  rocksdb::Status s = db_->Delete(w, k);
  if (!s.ok()) {
    note_write_failure(s);
    return Status::io_error("delete of item '" + std::string(space) + "': " + s.ToString());
  }
  return Status::ok();
}

Status RocksDbStore::list_items(std::string_view space, std::string_view prefix, std::string_view after,
                                size_t limit, std::vector<Item>* items, bool* more) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  items->clear();
  *more = false;
  // Every item of `space` starts with "x/" + space + '\0'; '\x01' bounds them.
  const std::string space_prefix = rocksdb_format::item_key(space, "");
  std::string upper = space_prefix;
  upper.back() = '\x01';
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::string start = space_prefix + std::max(std::string(prefix), std::string(after));
  for (it->Seek(start); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView().substr(space_prefix.size());
    if (!key.starts_with(prefix)) break;
    if (key == after) continue;
    if (items->size() == limit) {
      *more = true;
      break;
    }
    items->push_back(Item{std::string(key), it->value().ToString()});
  }
  if (!it->status().ok()) {
    items->clear();
    *more = false;
    return Status::io_error("listing items of '" + std::string(space) + "': " + it->status().ToString());
  }
  return Status::ok();
}

Status RocksDbStore::flush_wal(bool sync) {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::Status s = db_->FlushWAL(sync);
  if (!s.ok()) return Status::io_error("flushing the write-ahead log: " + s.ToString());
  return Status::ok();
}

uint64_t RocksDbStore::latest_sequence() {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  return db_ ? db_->GetLatestSequenceNumber() : 0;
}

uint64_t RocksDbStore::approximate_size_bytes() {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return 0;
  uint64_t sst = 0, mem = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst)) sst = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &mem)) mem = 0;
  return sst + mem;
}

uint64_t RocksDbStore::count_estimate() {
  std::shared_lock<std::shared_mutex> db_lock(db_mu_);
  if (!db_) return 0;
  uint64_t n = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &n)) n = 0;
  return n;
}

}  // namespace shadow
