// Store::write_items: several item changes in one call, on MemoryStore (the
// default one-by-one implementation) and RocksDbStore (one write batch).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "rocksdb_test_util.h"
#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace shadow;

namespace {

void check_write_items(Store& store) {
  REQUIRE(store.put_item("s", "gone", "x").is_ok());
  std::vector<ItemChange> changes = {
      {"s", "a", std::string("1")},
      {"s", "gone", std::nullopt},
      {"s", "a", std::string("2")},  // later changes win
      {"t", "b", std::string("")},
  };
  REQUIRE(store.write_items(changes).is_ok());
  std::string v;
  REQUIRE(store.get_item("s", "a", &v).is_ok());
  CHECK(v == "2");
  CHECK(store.get_item("s", "gone", &v).is_not_found());
  REQUIRE(store.get_item("t", "b", &v).is_ok());
  CHECK(v.empty());
  CHECK(store.write_items({}).is_ok());
}

}  // namespace

TEST_CASE("store: write_items on the memory store", "[store]") {
  MemoryStore store;
  check_write_items(store);
}

TEST_CASE("store: write_items on RocksDB", "[store][rocksdb]") {
  testing::TempDir dir;
  RocksDbOptions options;
  options.path = dir.db();
  auto opened = RocksDbStore::open(options);
  REQUIRE(opened.ok());
  check_write_items(**opened);
}
