// The items part of the Store contract (tests/contract/store_contract.h) on
// the in-process backends; tests/redis/ runs it on RedisStore.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <stdlib.h>

#include "contract/store_contract.h"
#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace shadow;

TEST_CASE("store items: the contract on MemoryStore", "[store]") {
  MemoryStore s;
  store_contract::items(s);
}

TEST_CASE("store items: the contract on RocksDbStore, and they survive a reopen", "[store][rocksdb]") {
  char tmpl[] = "/tmp/shadow-items-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  RocksDbOptions o;
  o.path = std::string(tmpl) + "/db";
  {
    auto s = RocksDbStore::open(o);
    REQUIRE(s.ok());
    store_contract::items(**s);
  }
  {
    auto s = RocksDbStore::open(o);
    REQUIRE(s.ok());
    std::string v;
    REQUIRE((*s)->get_item("rules", "r1", &v).is_ok());
    CHECK(v == "uno");
  }
  std::filesystem::remove_all(tmpl);
}
