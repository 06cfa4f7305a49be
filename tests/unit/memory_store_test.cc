// Tests of the MemoryStore's listing calls. Its compare-and-set is exercised
// by every service test; the RocksDB store is compared against it in
// rocksdb_store_test.cpp.
#include <catch2/catch.hpp>

#include "store/memory_store.h"

namespace shadow {
namespace {

void put(MemoryStore& s, const StoreKey& k) {
  ShadowRecord r;
  r.version = 1;
  r.document = R"({"state":{},"metadata":{},"version":1})";
  REQUIRE(s.compare_and_set(k, std::nullopt, r).is_ok());
}

void remove(MemoryStore& s, const StoreKey& k) {
  ShadowRecord r;
  r.version = 1;
  r.deleted = true;
  r.deleted_at = 9;
  REQUIRE(s.compare_and_set(k, RecordStamp{1, false}, r).is_ok());
}

std::vector<std::string> list_all(MemoryStore& s, const StoreKey& after, size_t limit,
                                  bool* more) {
  std::vector<StoreKey> keys;
  REQUIRE(s.list_shadows(after, limit, &keys, more).is_ok());
  std::vector<std::string> out;
  for (const StoreKey& k : keys) out.push_back(k.thing + "/" + k.shadow);
  return out;
}

}  // namespace

TEST_CASE("memory store: list_shadows lists live shadows in key order", "[store]") {
  MemoryStore s;
  bool more = true;
  CHECK(list_all(s, {}, 10, &more).empty());
  CHECK_FALSE(more);

  for (const char* thing : {"b", "a", "ab", "A"}) put(s, {thing, ""});
  for (const char* name : {"z", "$sys", "B"}) put(s, {"a", name});
  put(s, {"b", "gone"});
  remove(s, {"b", "gone"});
  remove(s, {"A", ""});

  using V = std::vector<std::string>;
  CHECK(list_all(s, {}, 10, &more) == V{"a/", "a/$sys", "a/B", "a/z", "ab/", "b/"});
  CHECK_FALSE(more);
  CHECK(list_all(s, {}, 2, &more) == V{"a/", "a/$sys"});
  CHECK(more);
  CHECK(list_all(s, {"a", "$sys"}, 2, &more) == V{"a/B", "a/z"});
  CHECK(more);
  // `after` need not exist; tombstones after the last key are not "more".
  CHECK(list_all(s, {"aa", "q"}, 2, &more) == V{"ab/", "b/"});
  CHECK_FALSE(more);
  CHECK(list_all(s, {"b", ""}, 2, &more).empty());
  CHECK_FALSE(more);
  // An `after` with an empty thing starts from the beginning.
  CHECK(list_all(s, {"", "x"}, 1, &more) == V{"a/"});
  CHECK(more);
}

}  // namespace shadow
