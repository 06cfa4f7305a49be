// The Store contract (store/store.h) as checks that every backend must pass:
// MemoryStore and RocksDbStore in tests/unit/store_contract_test.cc,
// RedisStore against a live cluster in tests/redis/. Each check takes a
// fresh, empty store and uses Catch2 assertions, so a failure points at the
// broken promise and the backend's test case names the backend.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/memory_store.h"
#include "store/store.h"

namespace shadow::store_contract {

inline ShadowRecord live(uint64_t version, std::string doc = "") {
  ShadowRecord r;
  r.version = version;
  r.document = doc.empty() ? "{\"state\":{},\"metadata\":{},\"version\":" + std::to_string(version) + "}"
                           : std::move(doc);
  return r;
}

inline ShadowRecord tombstone(uint64_t version, int64_t at) {
  ShadowRecord r;
  r.version = version;
  r.deleted = true;
  r.deleted_at = at;
  return r;
}

inline void put_new(Store& s, const StoreKey& k, const ShadowRecord& r) {
  Status st = s.compare_and_set(k, std::nullopt, r);
  INFO(st.message());
  REQUIRE(st.is_ok());
}

inline std::vector<std::string> list(Store& s, std::string_view thing, std::string_view after = "",
                                     size_t limit = 100, bool* more_out = nullptr) {
  std::vector<std::string> names;
  bool more = true;
  Status st = s.list_named(thing, after, limit, &names, &more);
  INFO(st.message());
  REQUIRE(st.is_ok());
  if (more_out) *more_out = more;
  return names;
}

// list_shadows as "thing/shadow" strings ("thing/" for a classic shadow).
inline std::vector<std::string> list_all(Store& s, const StoreKey& after = {}, size_t limit = 100,
                                         bool* more_out = nullptr) {
  std::vector<StoreKey> keys;
  bool more = true;
  Status st = s.list_shadows(after, limit, &keys, &more);
  INFO(st.message());
  REQUIRE(st.is_ok());
  if (more_out) *more_out = more;
  std::vector<std::string> out;
  for (const StoreKey& k : keys) out.push_back(k.thing + "/" + k.shadow);
  return out;
}

// get, compare_and_set, tombstones and re-creation on one key.
inline void get_and_compare_and_set(Store& store) {
  StoreKey k{"thing-1", ""};
  ShadowRecord out;

  CHECK(store.get(k, &out).code() == Status::Code::kNotFound);
  // Creating requires that nothing is stored.
  CHECK(store.compare_and_set(k, RecordStamp{0, false}, live(1)).code() == Status::Code::kConflict);
  CHECK(store.get(k, &out).code() == Status::Code::kNotFound);
  put_new(store, k, live(1, "{\"v\":1}"));
  CHECK(store.compare_and_set(k, std::nullopt, live(1)).code() == Status::Code::kConflict);

  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.version == 1);
  CHECK_FALSE(out.deleted);
  CHECK(out.document == "{\"v\":1}");

  // A wrong version or a wrong deleted flag is a conflict and writes nothing.
  CHECK(store.compare_and_set(k, RecordStamp{2, false}, live(3)).code() == Status::Code::kConflict);
  CHECK(store.compare_and_set(k, RecordStamp{1, true}, live(3)).code() == Status::Code::kConflict);
  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.version == 1);

  REQUIRE(store.compare_and_set(k, RecordStamp{1, false}, live(2, "{\"v\":2}")).is_ok());
  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.version == 2);
  CHECK(out.document == "{\"v\":2}");

  // Deleting leaves a tombstone that get returns and that a re-create must match.
  REQUIRE(store.compare_and_set(k, RecordStamp{2, false}, tombstone(3, 1700000000)).is_ok());
  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.deleted);
  CHECK(out.version == 3);
  CHECK(out.deleted_at == 1700000000);
  CHECK(out.document.empty());
  CHECK(store.compare_and_set(k, std::nullopt, live(4)).code() == Status::Code::kConflict);
  CHECK(store.compare_and_set(k, RecordStamp{3, false}, live(4)).code() == Status::Code::kConflict);
  REQUIRE(store.compare_and_set(k, RecordStamp{3, true}, live(4)).is_ok());
  REQUIRE(store.get(k, &out).is_ok());
  CHECK_FALSE(out.deleted);
  CHECK(out.version == 4);

  // The classic and a named shadow of one thing are separate records.
  CHECK(store.get({"thing-1", "cfg"}, &out).code() == Status::Code::kNotFound);
  put_new(store, {"thing-1", "cfg"}, live(7, "named"));
  REQUIRE(store.get({"thing-1", "cfg"}, &out).is_ok());
  CHECK(out.version == 7);
  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.version == 4);

  // Large versions and documents with any bytes survive unchanged.
  ShadowRecord big = live(0xfffffffffffffff0ull, std::string("\0{\"x\":\"\xff\"}\n", 11));
  put_new(store, {"thing-2", ""}, big);
  REQUIRE(store.get({"thing-2", ""}, &out).is_ok());
  CHECK(out.version == big.version);
  CHECK(out.document == big.document);
  REQUIRE(store.compare_and_set({"thing-2", ""}, stamp_of(big), tombstone(big.version + 1, -5)).is_ok());
  REQUIRE(store.get({"thing-2", ""}, &out).is_ok());
  CHECK(out.deleted_at == -5);
}

// list_named: byte order, pagination, tombstones excluded, no leaks between
// things whose names share a prefix.
inline void list_named_order_and_pages(Store& store) {
  put_new(store, {"a", ""}, live(1));
  for (const char* n : {"x", "b", "$sys", "B", "c", "d"}) put_new(store, {"a", n}, live(1));
  REQUIRE(store.compare_and_set({"a", "c"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  // Neighbouring things must not leak into "a".
  put_new(store, {"a:b", "zz"}, live(1));
  put_new(store, {"ab", "yy"}, live(1));
  put_new(store, {"a-", "ww"}, live(1));
  put_new(store, {"ab", ""}, live(1));

  bool more = true;
  using V = std::vector<std::string>;
  CHECK(list(store, "a", "", 100, &more) == V{"$sys", "B", "b", "d", "x"});
  CHECK_FALSE(more);
  CHECK(list(store, "a:b") == V{"zz"});
  CHECK(list(store, "ab") == V{"yy"});
  CHECK(list(store, "nothing").empty());
  CHECK(list(store, "a:").empty());

  CHECK(list(store, "a", "", 2, &more) == V{"$sys", "B"});
  CHECK(more);
  CHECK(list(store, "a", "B", 2, &more) == V{"b", "d"});
  CHECK(more);
  CHECK(list(store, "a", "d", 2, &more) == V{"x"});
  CHECK_FALSE(more);
  // `after` need not exist; a tombstone is skipped and does not count as "more".
  CHECK(list(store, "a", "bb", 1, &more) == V{"d"});
  CHECK(more);
  CHECK(list(store, "a", "b", 1, &more) == V{"d"});
  CHECK(more);
  CHECK(list(store, "a", "x", 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(list(store, "a", "", 0, &more).empty());
  CHECK(more);

  // A trailing tombstone is not "more".
  REQUIRE(store.compare_and_set({"a", "x"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  CHECK(list(store, "a", "b", 1, &more) == V{"d"});
  CHECK_FALSE(more);
  // A re-created shadow is listed again.
  REQUIRE(store.compare_and_set({"a", "c"}, RecordStamp{2, true}, live(3)).is_ok());
  CHECK(list(store, "a") == V{"$sys", "B", "b", "c", "d"});
}

// list_shadows: key order over all things, pagination, tombstones skipped.
inline void list_shadows_order_and_pages(Store& store) {
  bool more = true;
  CHECK(list_all(store, {}, 10, &more).empty());
  CHECK_FALSE(more);

  for (const char* thing : {"b", "a", "ab", "a:b", "A"}) put_new(store, {thing, ""}, live(1));
  for (const char* n : {"x", "$sys", "B"}) put_new(store, {"a", n}, live(1));
  put_new(store, {"ab", "gone"}, live(1));
  REQUIRE(store.compare_and_set({"ab", "gone"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  REQUIRE(store.compare_and_set({"b", ""}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  put_new(store, {"b", "n"}, live(1));
  // A thing whose only shadow is deleted is not listed at all.
  put_new(store, {"c", "only"}, live(1));
  REQUIRE(store.compare_and_set({"c", "only"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());

  using V = std::vector<std::string>;
  const V all{"A/", "a/", "a/$sys", "a/B", "a/x", "a:b/", "ab/", "b/n"};
  CHECK(list_all(store, {}, 100, &more) == all);
  CHECK_FALSE(more);

  // Page by page, each page strictly after the last key of the previous one.
  for (size_t page_size : {1, 2, 3, 7}) {
    V paged;
    StoreKey after;
    for (int page = 0; page < 20; ++page) {
      std::vector<StoreKey> keys;
      REQUIRE(store.list_shadows(after, page_size, &keys, &more).is_ok());
      CHECK(keys.size() <= page_size);
      for (const StoreKey& k : keys) paged.push_back(k.thing + "/" + k.shadow);
      if (!more) break;
      REQUIRE_FALSE(keys.empty());
      after = keys.back();
    }
    CHECK(paged == all);
  }

  // `after` need not exist; a classic `after` continues with its named shadows.
  CHECK(list_all(store, {"a", ""}, 2, &more) == V{"a/$sys", "a/B"});
  CHECK(more);
  CHECK(list_all(store, {"a", "C"}, 100, &more) == V{"a/x", "a:b/", "ab/", "b/n"});
  CHECK(list_all(store, {"aa", ""}, 100) == V{"ab/", "b/n"});
  // A tombstone is neither listed nor "more".
  CHECK(list_all(store, {"ab", ""}, 1, &more) == V{"b/n"});
  CHECK_FALSE(more);
  CHECK(list_all(store, {"b", "n"}, 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(list_all(store, {}, 0, &more).empty());
  CHECK(more);
  // An `after` with an empty thing starts from the beginning.
  CHECK(list_all(store, {"", "x"}, 1, &more) == V{"A/"});
  CHECK(more);
}

// The same random sequence of calls on `store` and on a MemoryStore gives
// the same answers. list_* calls run every `list_every` steps (they are the
// expensive ones on some backends).
inline void matches_memory_store(Store& store, int steps, int list_every) {
  MemoryStore memory;
  const std::vector<std::string> things{"a", "a:b", "ab", "b"};
  const std::vector<std::string> shadows{"", "x", "y", "$z", "x-1", "X"};
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  for (int i = 0; i < steps; ++i) {
    INFO("step " << i);
    StoreKey k{things[pick(things.size())], shadows[pick(shadows.size())]};
    ShadowRecord mr, sr;
    Status mg = memory.get(k, &mr);
    Status sg = store.get(k, &sr);
    INFO(sg.message());
    REQUIRE(mg.code() == sg.code());
    if (mg.is_ok()) {
      REQUIRE(mr.version == sr.version);
      REQUIRE(mr.deleted == sr.deleted);
      REQUIRE(mr.deleted_at == sr.deleted_at);
      REQUIRE(mr.document == sr.document);
    }

    // Mostly the right stamp, sometimes a stale or invented one.
    std::optional<RecordStamp> expected;
    if (mg.is_ok()) expected = stamp_of(mr);
    switch (pick(6)) {
      case 0: expected = std::nullopt; break;
      case 1: expected = RecordStamp{pick(4), pick(2) == 1}; break;
      default: break;
    }
    uint64_t v = (mg.is_ok() ? mr.version : 0) + 1;
    ShadowRecord next = pick(4) == 0 ? tombstone(v, static_cast<int64_t>(i)) : live(v);
    Status mc = memory.compare_and_set(k, expected, next);
    Status sc = store.compare_and_set(k, expected, next);
    INFO(sc.message());
    REQUIRE(mc.code() == sc.code());

    if (i % list_every != 0) continue;
    const std::string& thing = things[pick(things.size())];
    const std::string& after = shadows[pick(shadows.size())];
    size_t limit = pick(4);
    std::vector<std::string> mn, sn;
    bool mmore = false, smore = true;
    REQUIRE(memory.list_named(thing, after, limit, &mn, &mmore).is_ok());
    REQUIRE(store.list_named(thing, after, limit, &sn, &smore).is_ok());
    REQUIRE(mn == sn);
    REQUIRE(mmore == smore);

    // list_shadows from a random key (present or not), or from the start.
    StoreKey from;
    if (pick(4) != 0) from = {things[pick(things.size())], shadows[pick(shadows.size())]};
    size_t all_limit = pick(6);
    std::vector<StoreKey> mk, sk;
    mmore = false;
    smore = true;
    REQUIRE(memory.list_shadows(from, all_limit, &mk, &mmore).is_ok());
    REQUIRE(store.list_shadows(from, all_limit, &sk, &smore).is_ok());
    REQUIRE(mk.size() == sk.size());
    for (size_t j = 0; j < mk.size(); ++j) {
      REQUIRE(mk[j].thing == sk[j].thing);
      REQUIRE(mk[j].shadow == sk[j].shadow);
    }
    REQUIRE(mmore == smore);
  }
}

// Threads incrementing one record with read + compare_and_set lose nothing:
// every kOk is exactly one increment.
inline void concurrent_compare_and_set(Store& store, int threads, int increments) {
  const StoreKey k{"counter", "n"};
  put_new(store, k, live(0));
  std::vector<int> done(static_cast<size_t>(threads), 0);
  std::vector<int> errors(static_cast<size_t>(threads), 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      // Bounded: far more attempts than contention can need.
      for (int attempt = 0; attempt < 200000 && done[t] < increments; ++attempt) {
        ShadowRecord cur;
        if (!store.get(k, &cur).is_ok()) {
          ++errors[t];
          continue;
        }
        Status s = store.compare_and_set(k, stamp_of(cur), live(cur.version + 1));
        if (s.is_ok()) {
          ++done[t];
        } else if (s.code() != Status::Code::kConflict) {
          ++errors[t];
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) {
    CHECK(done[t] == increments);
    CHECK(errors[t] == 0);
  }
  ShadowRecord out;
  REQUIRE(store.get(k, &out).is_ok());
  CHECK(out.version == static_cast<uint64_t>(threads * increments));
  CHECK(out.document == live(static_cast<uint64_t>(threads * increments)).document);
}

inline std::vector<std::string> item_keys(Store& s, std::string_view space, std::string_view prefix,
                                          std::string_view after = "", size_t limit = 100,
                                          bool* more_out = nullptr) {
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

// Items: get/put/delete, put-if-absent, listing by prefix with paging,
// isolation from shadows and between spaces.
inline void items(Store& s) {
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
  CHECK(item_keys(s, "rules", "") == std::vector<std::string>{"r1", "r2"});
  std::vector<StoreKey> shadows;
  bool more = true;
  REQUIRE(s.list_shadows({}, 10, &shadows, &more).is_ok());
  CHECK(shadows.empty());

  // Prefix and paging.
  for (const char* k : {"job/a", "job/b", "job/c", "jobs", "x"}) REQUIRE(s.put_item("fleet", k, k).is_ok());
  CHECK(item_keys(s, "fleet", "job/") == std::vector<std::string>{"job/a", "job/b", "job/c"});
  CHECK(item_keys(s, "fleet", "job/", "job/a") == std::vector<std::string>{"job/b", "job/c"});
  CHECK(item_keys(s, "fleet", "job/", "job/c").empty());
  CHECK(item_keys(s, "fleet", "job/", "a").size() == 3);  // `after` before the prefix
  CHECK(item_keys(s, "fleet", "job/", "z").empty());      // `after` past it
  CHECK(item_keys(s, "fleet", "job/", "", 2, &more) == std::vector<std::string>{"job/a", "job/b"});
  CHECK(more);
  CHECK(item_keys(s, "fleet", "job/", "job/b", 2, &more) == std::vector<std::string>{"job/c"});
  CHECK_FALSE(more);

  REQUIRE(s.delete_item("fleet", "job/b").is_ok());
  REQUIRE(s.delete_item("fleet", "never-there").is_ok());
  CHECK(item_keys(s, "fleet", "job/") == std::vector<std::string>{"job/a", "job/c"});
  CHECK(item_keys(s, "fleet", "") == std::vector<std::string>{"job/a", "job/c", "jobs", "x"});

  // Prefixes ending in 0xff bytes, and keys with any bytes.
  const std::string ff("a\xff", 2), ff1("a\xff\x01", 3), ff2("a\xff\xff", 3), b("b");
  for (const std::string& k : {ff, ff1, ff2, b, std::string("a\0", 2)}) REQUIRE(s.put_item("bytes", k, k).is_ok());
  CHECK(item_keys(s, "bytes", ff) == std::vector<std::string>{ff, ff1, ff2});
  CHECK(item_keys(s, "bytes", ff2) == std::vector<std::string>{ff2});
  CHECK(item_keys(s, "bytes", ff, ff1) == std::vector<std::string>{ff2});
  CHECK(item_keys(s, "bytes", "a") == std::vector<std::string>{std::string("a\0", 2), ff, ff1, ff2});
  REQUIRE(s.get_item("bytes", std::string("a\0", 2), &v).is_ok());
  CHECK(v == std::string("a\0", 2));
}

// scan_shadows as "thing/shadow@version:document" strings, stopping after
// `stop_after` visits.
inline std::vector<std::string> scan(Store& s, std::string_view after, std::string_view prefix,
                                     size_t stop_after = 1000) {
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

// The "thing/shadow" part of scan()'s strings.
inline std::vector<std::string> scanned_keys(const std::vector<std::string>& seen) {
  std::vector<std::string> out;
  for (const std::string& s : seen) out.push_back(s.substr(0, s.find('@')));
  return out;
}

// scan_shadows: key order (a thing's classic shadow first), tombstones
// skipped, paging by thing, prefix ranges, the visitor stopping the scan.
inline void scan_shadows_order_and_ranges(Store& s) {
  using Names = std::vector<std::string>;
  auto put = [&](const std::string& thing, const std::string& shadow) {
    put_new(s, {thing, shadow}, live(1, "doc-" + thing + "-" + shadow));
  };
  CHECK(scan(s, "", "").empty());
  put("b", "");
  put("b", "cfg");
  put("a", "z");  // a thing with only a named shadow
  put("ab", "");
  put("c", "");
  put("c", "gone");
  REQUIRE(s.compare_and_set({"c", "gone"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  put("line-7", "");
  put("line-70", "");
  put("line-8", "");
  REQUIRE(s.put_item("fleet", "b", "an item is not a shadow").is_ok());

  std::vector<std::string> all = scan(s, "", "");
  CHECK(scanned_keys(all) == Names{"a/z", "ab/", "b/", "b/cfg", "c/", "line-7/", "line-70/", "line-8/"});
  REQUIRE(all.size() == 8);
  CHECK(all[2] == "b/@1:doc-b-");
  // Paging by thing: every shadow of `after` is skipped, even named ones.
  CHECK(scanned_keys(scan(s, "a", "")) == Names{"ab/", "b/", "b/cfg", "c/", "line-7/", "line-70/", "line-8/"});
  CHECK(scanned_keys(scan(s, "b", "")) == Names{"c/", "line-7/", "line-70/", "line-8/"});
  CHECK(scanned_keys(scan(s, "bb", "")) == Names{"c/", "line-7/", "line-70/", "line-8/"});  // not a thing
  CHECK(scan(s, "z", "").empty());
  // Prefix ranges, alone and with `after` before, inside and past them.
  CHECK(scanned_keys(scan(s, "", "line-7")) == Names{"line-7/", "line-70/"});
  CHECK(scanned_keys(scan(s, "line-7", "line-7")) == Names{"line-70/"});
  CHECK(scanned_keys(scan(s, "b", "line-")) == Names{"line-7/", "line-70/", "line-8/"});
  CHECK(scan(s, "line-9", "line-").empty());
  CHECK(scanned_keys(scan(s, "", "a")) == Names{"a/z", "ab/"});
  CHECK(scan(s, "", "x").empty());
  // The visitor stops the scan.
  CHECK(scanned_keys(scan(s, "", "", 3)) == Names{"a/z", "ab/", "b/"});
  // Re-created after a delete: seen again, at its new version.
  REQUIRE(s.compare_and_set({"c", "gone"}, RecordStamp{2, true}, live(3, "back")).is_ok());
  CHECK(scan(s, "b", "c") == Names{"c/@1:doc-c-", "c/gone@3:back"});
}

// Items written by compare_and_set with the record: only when the record is
// written, puts and deletes in order.
inline void items_with_record(Store& s) {
  const std::string first_key("t\0\0001", 5);  // the engine's history keys hold '\0'
  std::vector<ItemChange> items = {{"history", first_key, "v1"}, {"history", "other", "x"}};
  REQUIRE(s.compare_and_set({"t", ""}, std::nullopt, live(1), items).is_ok());
  std::string v;
  REQUIRE(s.get_item("history", first_key, &v).is_ok());
  CHECK(v == "v1");
  // A conflict writes neither the record nor the items.
  std::vector<ItemChange> refused = {{"history", "never", "n"}, {"history", "other", std::nullopt}};
  CHECK(s.compare_and_set({"t", ""}, std::nullopt, live(2), refused).is_conflict());
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
  CHECK(item_keys(s, "history", "t") == std::vector<std::string>{first_key, "twice"});
}

}  // namespace shadow::store_contract
