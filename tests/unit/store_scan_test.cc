// The parts of the Store contract (store/store.h) that fleet search, fleet
// updates and the shadow history rely on, checked the same way on every
// backend: scan_shadows (order, paging by thing, prefixes, tombstones,
// snapshot) and items written atomically with a record by compare_and_set.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace shadow;

namespace {

ShadowRecord live(uint64_t v, std::string doc = "{}") { return ShadowRecord{v, false, 0, std::move(doc)}; }

void put(Store& s, const std::string& thing, const std::string& shadow, uint64_t v = 1) {
  INFO(thing << "/" << shadow);
  REQUIRE(s.compare_and_set({thing, shadow}, std::nullopt, live(v, "doc-" + thing + "-" + shadow)).is_ok());
}

// "thing/shadow@version:document" for every visited shadow, until `stop_after` visits.
std::vector<std::string> scan(Store& s, std::string_view after, std::string_view prefix, size_t stop_after = 1000) {
  std::vector<std::string> seen;
  Status st = s.scan_shadows(after, prefix, [&](const ShadowEntry& e) {
    seen.push_back(std::string(e.thing) + "/" + std::string(e.shadow) + "@" + std::to_string(e.version) + ":" +
                   std::string(e.document));
    return seen.size() < stop_after;
  });
  INFO(st.message());
  REQUIRE(st.is_ok());
  return seen;
}

std::vector<std::string> things_of(const std::vector<std::string>& seen) {
  std::vector<std::string> out;
  for (const std::string& s : seen) out.push_back(s.substr(0, s.find('@')));
  return out;
}

using Names = std::vector<std::string>;

void check_scan_contract(Store& s) {
  CHECK(scan(s, "", "").empty());
  put(s, "b", "");
  put(s, "b", "cfg");
  put(s, "a", "z");  // a thing with only a named shadow
  put(s, "ab", "");
  put(s, "c", "");
  put(s, "c", "gone");
  REQUIRE(s.compare_and_set({"c", "gone"}, RecordStamp{1, false}, ShadowRecord{2, true, 5, ""}).is_ok());
  put(s, "line-7", "");
  put(s, "line-70", "");
  put(s, "line-8", "");
  REQUIRE(s.put_item("fleet", "b", "an item is not a shadow").is_ok());

  // Key order, a thing's classic shadow first, tombstones skipped, documents and versions.
  std::vector<std::string> all = scan(s, "", "");
  CHECK(things_of(all) == Names{"a/z", "ab/", "b/", "b/cfg", "c/", "line-7/", "line-70/", "line-8/"});
  CHECK(all[2] == "b/@1:doc-b-");
  // Paging by thing: every shadow of `after` is skipped, even named ones.
  CHECK(things_of(scan(s, "a", "")) == Names{"ab/", "b/", "b/cfg", "c/", "line-7/", "line-70/", "line-8/"});
  CHECK(things_of(scan(s, "b", "")) == Names{"c/", "line-7/", "line-70/", "line-8/"});
  CHECK(things_of(scan(s, "bb", "")) == Names{"c/", "line-7/", "line-70/", "line-8/"});  // not a thing
  CHECK(scan(s, "z", "").empty());
  // Prefix ranges, alone and with `after` before, inside and past them.
  CHECK(things_of(scan(s, "", "line-7")) == Names{"line-7/", "line-70/"});
  CHECK(things_of(scan(s, "line-7", "line-7")) == Names{"line-70/"});
  CHECK(things_of(scan(s, "b", "line-")) == Names{"line-7/", "line-70/", "line-8/"});
  CHECK(scan(s, "line-9", "line-").empty());
  CHECK(things_of(scan(s, "", "a")) == Names{"a/z", "ab/"});
  CHECK(scan(s, "", "x").empty());
  // The visitor stops the scan.
  CHECK(things_of(scan(s, "", "", 3)) == Names{"a/z", "ab/", "b/"});
  // Re-created after a delete: seen again, at its new version.
  REQUIRE(s.compare_and_set({"c", "gone"}, RecordStamp{2, true}, live(3, "back")).is_ok());
  CHECK(scan(s, "b", "c") == Names{"c/@1:doc-c-", "c/gone@3:back"});
}

void check_items_with_record(Store& s) {
  std::vector<ItemChange> items = {{"history", std::string("t\0\0001", 5), "v1"}, {"history", "other", "x"}};
  REQUIRE(s.compare_and_set({"t", ""}, std::nullopt, live(1), items).is_ok());
  std::string v;
  REQUIRE(s.get_item("history", std::string("t\0\0001", 5), &v).is_ok());
  CHECK(v == "v1");
  // A conflict writes neither the record nor the items.
  std::vector<ItemChange> more = {{"history", "never", "n"}, {"history", "other", std::nullopt}};
  CHECK(s.compare_and_set({"t", ""}, std::nullopt, live(2), more).is_conflict());
  CHECK(s.get_item("history", "never", &v).is_not_found());
  REQUIRE(s.get_item("history", "other", &v).is_ok());
  // With the record: puts and deletes, in order (a later change of the same item wins).
  std::vector<ItemChange> changes = {{"history", "other", std::nullopt},
                                     {"history", "twice", "first"},
                                     {"history", "twice", "second"},
                                     {"history", "absent", std::nullopt}};
  REQUIRE(s.compare_and_set({"t", ""}, RecordStamp{1, false}, live(2), changes).is_ok());
  CHECK(s.get_item("history", "other", &v).is_not_found());
  REQUIRE(s.get_item("history", "twice", &v).is_ok());
  CHECK(v == "second");
  ShadowRecord r;
  REQUIRE(s.get({"t", ""}, &r).is_ok());
  CHECK(r.version == 2);
}

std::string temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "shadow-scan-XXXXXX").string();
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("store scan: the contract on MemoryStore", "[store]") {
  MemoryStore s;
  check_scan_contract(s);
}

TEST_CASE("store scan: the contract on RocksDbStore", "[store][rocksdb]") {
  std::string dir = temp_dir();
  {
    auto opened = RocksDbStore::open(RocksDbOptions{dir + "/db"});
    REQUIRE(opened.ok());
    check_scan_contract(**opened);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("store scan: RocksDbStore reads one snapshot; writes during the scan are not seen", "[store][rocksdb]") {
  std::string dir = temp_dir();
  {
    auto opened = RocksDbStore::open(RocksDbOptions{dir + "/db"});
    REQUIRE(opened.ok());
    RocksDbStore& s = **opened;
    put(s, "a", "");
    put(s, "b", "");
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
  std::filesystem::remove_all(dir);
}

TEST_CASE("store: items written with a record, on MemoryStore", "[store]") {
  MemoryStore s;
  check_items_with_record(s);
}

TEST_CASE("store: items written with a record, on RocksDbStore, and after a reopen", "[store][rocksdb]") {
  std::string dir = temp_dir();
  {
    auto opened = RocksDbStore::open(RocksDbOptions{dir + "/db"});
    REQUIRE(opened.ok());
    check_items_with_record(**opened);
  }
  {
    auto opened = RocksDbStore::open(RocksDbOptions{dir + "/db"});
    REQUIRE(opened.ok());
    std::string v;
    REQUIRE((*opened)->get_item("history", "twice", &v).is_ok());
    CHECK(v == "second");
  }
  std::filesystem::remove_all(dir);
}
