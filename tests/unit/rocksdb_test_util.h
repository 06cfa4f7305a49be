// Helpers of the RocksDB store tests that look at the database from outside
// the store: a temporary directory, and the raw database.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "store/rocksdb/rocksdb_store.h"

namespace shadow::testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/shadow-rocksdb-test.XXXXXX";
    const char* p = mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_; }
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

inline std::unique_ptr<RocksDbStore> open_or_fail(const RocksDbOptions& o) {
  auto store = RocksDbStore::open(o);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// The database opened directly with RocksDB's defaults (no filter, no
// collector). Closing it does not flush: what was written stays in the
// write-ahead log, as after a crash of the broker.
inline std::unique_ptr<rocksdb::DB> open_raw(const std::string& path) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, path, &db);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return std::unique_ptr<rocksdb::DB>(db);
}

// Every key of the database, in order.
inline std::vector<std::string> raw_keys(rocksdb::DB& db) {
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  REQUIRE(it->status().ok());
  return keys;
}

// Bytes of the table files in `dir`.
inline uint64_t table_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".sst") total += e.file_size();
  return total;
}

inline ShadowRecord live_record(uint64_t version, std::string document) {
  ShadowRecord r;
  r.version = version;
  r.document = std::move(document);
  return r;
}

inline ShadowRecord tombstone_record(uint64_t version, int64_t deleted_at) {
  ShadowRecord r;
  r.version = version;
  r.deleted = true;
  r.deleted_at = deleted_at;
  return r;
}

}  // namespace shadow::testing
