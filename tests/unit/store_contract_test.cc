// The Store contract (tests/contract/store_contract.h) run against the
// in-process backends. tests/redis/ runs the same checks against RedisStore.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "contract/store_contract.h"
#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

namespace shadow {
namespace {

// A RocksDbStore in a fresh directory under /tmp, removed afterwards.
class TempRocksDb {
 public:
  TempRocksDb() {
    char tmpl[] = "/tmp/shadow-contract-test.XXXXXX";
    const char* p = mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    dir_ = p;
    RocksDbOptions o;
    o.path = dir_ + "/db";
    auto opened = RocksDbStore::open(o);
    INFO(opened.status().message());
    REQUIRE(opened.ok());
    store_ = std::move(opened).value();
  }
  ~TempRocksDb() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Store& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<RocksDbStore> store_;
};

}  // namespace

TEST_CASE("store contract, memory: get and compare_and_set", "[store]") {
  MemoryStore s;
  store_contract::get_and_compare_and_set(s);
}

TEST_CASE("store contract, memory: list_named", "[store]") {
  MemoryStore s;
  store_contract::list_named_order_and_pages(s);
}

TEST_CASE("store contract, memory: list_shadows", "[store]") {
  MemoryStore s;
  store_contract::list_shadows_order_and_pages(s);
}

TEST_CASE("store contract, memory: concurrent compare_and_set", "[store]") {
  MemoryStore s;
  store_contract::concurrent_compare_and_set(s, 4, 500);
}

TEST_CASE("store contract, rocksdb: get and compare_and_set", "[store][rocksdb]") {
  TempRocksDb db;
  store_contract::get_and_compare_and_set(db.store());
}

TEST_CASE("store contract, rocksdb: list_named", "[store][rocksdb]") {
  TempRocksDb db;
  store_contract::list_named_order_and_pages(db.store());
}

TEST_CASE("store contract, rocksdb: list_shadows", "[store][rocksdb]") {
  TempRocksDb db;
  store_contract::list_shadows_order_and_pages(db.store());
}

TEST_CASE("store contract, rocksdb: behaves like the MemoryStore", "[store][rocksdb]") {
  TempRocksDb db;
  store_contract::matches_memory_store(db.store(), 1500, 1);
}

TEST_CASE("store contract, rocksdb: concurrent compare_and_set", "[store][rocksdb]") {
  TempRocksDb db;
  store_contract::concurrent_compare_and_set(db.store(), 4, 500);
}

}  // namespace shadow
