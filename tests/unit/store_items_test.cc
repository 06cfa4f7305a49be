// The items part of the Store contract (store/store.h), checked the same way
// on every backend: get/put/delete, put-if-absent, listing by prefix with
// paging, isolation from shadows and between spaces.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <stdlib.h>

#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace shadow;

namespace {

std::vector<std::string> keys_of(Store& s, std::string_view space, std::string_view prefix,
                                 std::string_view after = "", size_t limit = 100, bool* more_out = nullptr) {
  std::vector<Item> items;
  bool more = true;
  Status st = s.list_items(space, prefix, after, limit, &items, &more);
  INFO(st.message());
  REQUIRE(st.is_ok());
  if (more_out) *more_out = more;
  std::vector<std::string> keys;
  for (const Item& i : items) keys.push_back(i.key);
  return keys;
}

void check_items_contract(Store& s) {
  std::string v;
  CHECK(s.get_item("rules", "r1", &v).is_not_found());
  REQUIRE(s.put_item("rules", "r1", "one").is_ok());
  REQUIRE(s.get_item("rules", "r1", &v).is_ok());
  CHECK(v == "one");
  // Replace by default; kIfAbsent refuses an existing item and writes nothing.
  REQUIRE(s.put_item("rules", "r1", "uno").is_ok());
  CHECK(s.put_item("rules", "r1", "ichi", ItemWrite::kIfAbsent).is_conflict());
  REQUIRE(s.get_item("rules", "r1", &v).is_ok());
  CHECK(v == "uno");
  CHECK(s.put_item("rules", "r2", std::string("bin\0ary", 7), ItemWrite::kIfAbsent).is_ok());
  REQUIRE(s.get_item("rules", "r2", &v).is_ok());
  CHECK(v == std::string("bin\0ary", 7));

  // Spaces are separate, and items are not shadows.
  REQUIRE(s.put_item("rulesx", "r0", "other space").is_ok());
  REQUIRE(s.put_item("presence", "r1", "p").is_ok());
  CHECK(keys_of(s, "rules", "") == std::vector<std::string>{"r1", "r2"});
  std::vector<StoreKey> shadows;
  bool more = true;
  REQUIRE(s.list_shadows({}, 10, &shadows, &more).is_ok());
  CHECK(shadows.empty());

  // Prefix and paging.
  for (const char* k : {"job/a", "job/b", "job/c", "jobs", "x"}) REQUIRE(s.put_item("fleet", k, k).is_ok());
  CHECK(keys_of(s, "fleet", "job/") == std::vector<std::string>{"job/a", "job/b", "job/c"});
  CHECK(keys_of(s, "fleet", "job/", "job/a") == std::vector<std::string>{"job/b", "job/c"});
  CHECK(keys_of(s, "fleet", "job/", "job/c").empty());
  CHECK(keys_of(s, "fleet", "job/", "a").size() == 3);  // `after` before the prefix
  CHECK(keys_of(s, "fleet", "job/", "z").empty());      // `after` past it
  CHECK(keys_of(s, "fleet", "job/", "", 2, &more) == std::vector<std::string>{"job/a", "job/b"});
  CHECK(more);
  CHECK(keys_of(s, "fleet", "job/", "job/b", 2, &more) == std::vector<std::string>{"job/c"});
  CHECK_FALSE(more);

  REQUIRE(s.delete_item("fleet", "job/b").is_ok());
  REQUIRE(s.delete_item("fleet", "never-there").is_ok());
  CHECK(keys_of(s, "fleet", "job/") == std::vector<std::string>{"job/a", "job/c"});
}

}  // namespace

TEST_CASE("store items: the contract on MemoryStore", "[store]") {
  MemoryStore s;
  check_items_contract(s);
}

TEST_CASE("store items: the contract on RocksDbStore, and they survive a reopen", "[store][rocksdb]") {
  char tmpl[] = "/tmp/shadow-items-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  RocksDbOptions o;
  o.path = std::string(tmpl) + "/db";
  {
    auto s = RocksDbStore::open(o);
    REQUIRE(s.ok());
    check_items_contract(**s);
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
