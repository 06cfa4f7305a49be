#include "store/rocksdb/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <functional>

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

}  // namespace

StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::open(const RocksDbOptions& options) {
  if (options.path.empty()) return Status::io_error("shadow database path is empty");

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

  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, options.path, &db);
  if (!s.ok()) {
    delete db;
    return Status::io_error(describe_open_error(options.path, s));
  }
  return std::unique_ptr<RocksDbStore>(new RocksDbStore(options, db));
}

RocksDbStore::RocksDbStore(const RocksDbOptions& options, rocksdb::DB* db)
    : options_(options), db_(db) {}

RocksDbStore::~RocksDbStore() {
  // Close waits for background work; its status has nowhere to go, and the
  // write-ahead log already holds every acknowledged write.
  if (db_) db_->Close().PermitUncheckedError();
}

std::mutex& RocksDbStore::stripe_for(const std::string& encoded_key) {
  return stripes_[std::hash<std::string>{}(encoded_key) % kStripes];
}

Status RocksDbStore::get(const StoreKey& key, ShadowRecord* out) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb_format::shadow_key(key.thing, key.shadow), &value);
  if (s.IsNotFound()) return Status::not_found();
  if (!s.ok()) return io_error("read of", key, s);
  return rocksdb_format::decode_record(value, out)
      .with_context("shadow '" + key.thing + "'/'" + key.shadow + "'");
}

Status RocksDbStore::compare_and_set(const StoreKey& key,
                                          const std::optional<RecordStamp>& expected,
                                          const ShadowRecord& next) {
  if (key.thing.find('\0') != std::string::npos) {
    // The key encoding relies on it; the engine's name rules exclude it.
    return Status::io_error("thing name contains a NUL byte");
  }
  const std::string k = rocksdb_format::shadow_key(key.thing, key.shadow);
  std::lock_guard<std::mutex> lock(stripe_for(k));

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
  s = db_->Put(w, k, rocksdb_format::encode_record(next));
  if (!s.ok()) return io_error("write of", key, s);
  return Status::ok();
}

Status RocksDbStore::list_named(std::string_view thing, std::string_view after, size_t limit,
                                     std::vector<std::string>* names, bool* more) {
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

Status RocksDbStore::get_item(std::string_view space, std::string_view key, std::string* value) {
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
  if (mode == ItemWrite::kIfAbsent) {
    std::string existing;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), k, &existing);
    if (s.ok()) return Status::conflict();
    if (!s.IsNotFound()) return Status::io_error("read of item '" + std::string(space) + "': " + s.ToString());
  }
  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  rocksdb::Status s = db_->Put(w, k, rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return Status::io_error("write of item '" + std::string(space) + "': " + s.ToString());
  return Status::ok();
}

Status RocksDbStore::delete_item(std::string_view space, std::string_view key) {
  const std::string k = rocksdb_format::item_key(space, key);
  std::lock_guard<std::mutex> lock(stripe_for(k));
  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  rocksdb::Status s = db_->Delete(w, k);
  if (!s.ok()) return Status::io_error("delete of item '" + std::string(space) + "': " + s.ToString());
  return Status::ok();
}

Status RocksDbStore::write_items(const std::vector<ItemChange>& changes) {
  if (changes.empty()) return Status::ok();
  rocksdb::WriteBatch batch;
  std::vector<size_t> stripes;
  for (const ItemChange& c : changes) {
    if (c.space.find('\0') != std::string::npos) return Status::invalid_argument("item space contains a NUL byte");
    const std::string k = rocksdb_format::item_key(c.space, c.key);
    stripes.push_back(static_cast<size_t>(&stripe_for(k) - stripes_.data()));
    rocksdb::Status s = c.value ? batch.Put(k, *c.value) : batch.Delete(k);
    if (!s.ok()) return Status::io_error("item batch: " + s.ToString());
  }
  // In ascending order, so that two batches never wait for each other.
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (size_t i : stripes) locks.emplace_back(stripes_[i]);
  rocksdb::WriteOptions w;
  w.sync = options_.sync_writes;
  rocksdb::Status s = db_->Write(w, &batch);
  if (!s.ok()) return Status::io_error("write of " + std::to_string(changes.size()) + " items: " + s.ToString());
  return Status::ok();
}

Status RocksDbStore::list_items(std::string_view space, std::string_view prefix, std::string_view after,
                                size_t limit, std::vector<Item>* items, bool* more) {
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
  rocksdb::Status s = db_->FlushWAL(sync);
  if (!s.ok()) return Status::io_error("flushing the write-ahead log: " + s.ToString());
  return Status::ok();
}

uint64_t RocksDbStore::latest_sequence() { return db_->GetLatestSequenceNumber(); }

uint64_t RocksDbStore::approximate_size_bytes() {
  uint64_t sst = 0, mem = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst)) sst = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &mem)) mem = 0;
  return sst + mem;
}

uint64_t RocksDbStore::count_estimate() {
  uint64_t n = 0;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &n)) n = 0;
  return n;
}

}  // namespace shadow
