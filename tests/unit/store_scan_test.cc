// The parts of the Store contract (tests/contract/store_contract.h) that
// fleet search, fleet updates and the shadow history rely on, on the
// in-process backends: scan_shadows and items written with a record by
// compare_and_set. tests/redis/ runs the same checks on RedisStore. Plus
// what only RocksDbStore promises: one snapshot per scan, and items that
// survive a reopen with their record.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "contract/store_contract.h"
#include "rocksdb_test_util.h"
#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace shadow;
using store_contract::live;
using store_contract::scan;
using shadow::testing::open_or_fail;
using shadow::testing::TempDir;

namespace {

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("store contract, memory: scan_shadows", "[store]") {
  MemoryStore s;
  store_contract::scan_shadows_order_and_ranges(s);
}

TEST_CASE("store contract, rocksdb: scan_shadows", "[store][rocksdb]") {
  TempDir dir;
  store_contract::scan_shadows_order_and_ranges(*open_or_fail(RocksDbOptions{dir.db()}));
}

TEST_CASE("store scan: RocksDbStore reads one snapshot; writes during the scan are not seen", "[store][rocksdb]") {
  TempDir dir;
  {
    std::unique_ptr<RocksDbStore> opened = open_or_fail(RocksDbOptions{dir.db()});
    RocksDbStore& s = *opened;
    store_contract::put_new(s, {"a", ""}, live(1, "doc-a-"));
    store_contract::put_new(s, {"b", ""}, live(1, "doc-b-"));
    // The visitor may not call the store itself, but another thread may
    // write while the scan runs: here, right after the first visit.
    std::vector<std::string> docs;
    REQUIRE(s.scan_shadows("", "", [&](const ShadowEntry& e) {
               docs.push_back(std::string(e.document));
               if (docs.size() == 1) {
                 std::thread writer([&] {
                   CHECK(s.compare_and_set({"b", ""}, RecordStamp{1, false}, live(2, "changed")).is_ok());
                   CHECK(s.compare_and_set({"c", ""}, std::nullopt, live(1, "new")).is_ok());
                 });
                 writer.join();
               }
               return true;
             }).is_ok());
    CHECK(docs == Names{"doc-a-", "doc-b-"});
    // A scan started afterwards sees both writes.
    CHECK(scan(s, "", "") == Names{"a/@1:doc-a-", "b/@2:changed", "c/@1:new"});
  }
}

TEST_CASE("store contract, memory: items written with a record", "[store]") {
  MemoryStore s;
  store_contract::items_with_record(s);
}

TEST_CASE("store contract, rocksdb: items written with a record, and after a reopen", "[store][rocksdb]") {
  TempDir dir;
  store_contract::items_with_record(*open_or_fail(RocksDbOptions{dir.db()}));
  std::string v;
  REQUIRE(open_or_fail(RocksDbOptions{dir.db()})->get_item("history", "twice", &v).is_ok());
  CHECK(v == "second");
}
