// Tests of the RocksDB store: the Store contract (checked against the
// MemoryStore), the on-disk format, opening failures, corruption, concurrent
// compare-and-set and durability across a SIGKILL.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <rocksdb/db.h>
#include <thread>

#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

extern char** environ;

namespace shadow {
namespace {

namespace fs = std::filesystem;

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
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_; }
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

std::unique_ptr<RocksDbStore> open_store(const std::string& path, bool sync = false) {
  RocksDbOptions o;
  o.path = path;
  o.sync_writes = sync;
  auto store = RocksDbStore::open(o);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}

ShadowRecord live(uint64_t version, std::string doc = "") {
  ShadowRecord r;
  r.version = version;
  r.document = doc.empty() ? "{\"state\":{},\"metadata\":{},\"version\":" +
                                 std::to_string(version) + "}"
                           : std::move(doc);
  return r;
}

ShadowRecord tombstone(uint64_t version, int64_t at) {
  ShadowRecord r;
  r.version = version;
  r.deleted = true;
  r.deleted_at = at;
  return r;
}

std::vector<std::string> list(Store& s, std::string_view thing, std::string_view after = "",
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
std::vector<std::string> list_all(Store& s, const StoreKey& after = {}, size_t limit = 100,
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

void put_new(Store& s, const StoreKey& k, const ShadowRecord& r) {
  Status st = s.compare_and_set(k, std::nullopt, r);
  INFO(st.message());
  REQUIRE(st.is_ok());
}

}  // namespace

TEST_CASE("rocksdb format: keys are prefix-unambiguous and sort classic first", "[rocksdb]") {
  using namespace rocksdb_format;
  CHECK(shadow_key("dev1", "") == std::string("s/dev1\0", 7));
  CHECK(shadow_key("dev1", "cfg") == std::string("s/dev1\0cfg", 10));
  CHECK(thing_prefix("dev1") == std::string("s/dev1\0", 7));
  // The classic shadow first, then named shadows in byte order of their names.
  CHECK(shadow_key("a", "") < shadow_key("a", "$x"));
  CHECK(shadow_key("a", "$x") < shadow_key("a", "A"));
  CHECK(shadow_key("a", "A") < shadow_key("a", "b"));
  // A thing whose name extends another's never falls in its range.
  std::string p = thing_prefix("a");
  for (const char* other : {"a:b", "ab", "a-", "a_"}) {
    CHECK(shadow_key(other, "").rfind(p, 0) == std::string::npos);
    CHECK(shadow_key(other, "x").rfind(p, 0) == std::string::npos);
  }
}

TEST_CASE("rocksdb format: value encoding is pinned and round-trips", "[rocksdb]") {
  using namespace rocksdb_format;
  ShadowRecord r;
  r.version = 0x0102030405060708ull;
  r.deleted = true;
  r.deleted_at = -2;
  r.document = "doc";
  std::string v = encode_record(r);
  const std::string expected("\x01\x08\x07\x06\x05\x04\x03\x02\x01\x01"
                             "\xfe\xff\xff\xff\xff\xff\xff\xff"
                             "doc",
                             21);
  CHECK(v == expected);

  ShadowRecord back;
  REQUIRE(decode_record(v, &back).is_ok());
  CHECK(back.version == r.version);
  CHECK(back.deleted);
  CHECK(back.deleted_at == -2);
  CHECK(back.document == "doc");

  ShadowRecord empty_doc = live(7, "x");
  empty_doc.document.clear();
  REQUIRE(decode_record(encode_record(empty_doc), &back).is_ok());
  CHECK(back.version == 7);
  CHECK_FALSE(back.deleted);
  CHECK(back.document.empty());
}

TEST_CASE("rocksdb format: corrupt values are rejected", "[rocksdb]") {
  using namespace rocksdb_format;
  std::string good = encode_record(live(3));
  ShadowRecord out;
  for (size_t n = 0; n < kHeaderSize; ++n) {
    Status s = decode_record(std::string_view(good).substr(0, n), &out);
    CHECK(s.code() == Status::Code::kIoError);
    CHECK_FALSE(s.message().empty());
  }
  std::string bad_format = good;
  bad_format[0] = 2;
  CHECK(decode_record(bad_format, &out).code() == Status::Code::kIoError);
  std::string bad_flags = good;
  bad_flags[9] = 2;
  CHECK(decode_record(bad_flags, &out).code() == Status::Code::kIoError);
}

TEST_CASE("rocksdb store: get and compare_and_set", "[rocksdb]") {
  TempDir dir;
  auto store = open_store(dir.db());
  StoreKey k{"thing-1", ""};
  ShadowRecord out;

  CHECK(store->get(k, &out).code() == Status::Code::kNotFound);
  // Creating requires that nothing is stored.
  CHECK(store->compare_and_set(k, RecordStamp{0, false}, live(1)).code() == Status::Code::kConflict);
  CHECK(store->get(k, &out).code() == Status::Code::kNotFound);
  put_new(*store, k, live(1, "{\"v\":1}"));
  CHECK(store->compare_and_set(k, std::nullopt, live(1)).code() == Status::Code::kConflict);

  REQUIRE(store->get(k, &out).is_ok());
  CHECK(out.version == 1);
  CHECK_FALSE(out.deleted);
  CHECK(out.document == "{\"v\":1}");

  // A wrong version or a wrong deleted flag is a conflict and writes nothing.
  CHECK(store->compare_and_set(k, RecordStamp{2, false}, live(3)).code() == Status::Code::kConflict);
  CHECK(store->compare_and_set(k, RecordStamp{1, true}, live(3)).code() == Status::Code::kConflict);
  REQUIRE(store->get(k, &out).is_ok());
  CHECK(out.version == 1);

  REQUIRE(store->compare_and_set(k, RecordStamp{1, false}, live(2, "{\"v\":2}")).is_ok());
  REQUIRE(store->get(k, &out).is_ok());
  CHECK(out.version == 2);
  CHECK(out.document == "{\"v\":2}");

  // Deleting leaves a tombstone that get returns and that a re-create must match.
  REQUIRE(store->compare_and_set(k, RecordStamp{2, false}, tombstone(3, 1700000000)).is_ok());
  REQUIRE(store->get(k, &out).is_ok());
  CHECK(out.deleted);
  CHECK(out.version == 3);
  CHECK(out.deleted_at == 1700000000);
  CHECK(out.document.empty());
  CHECK(store->compare_and_set(k, std::nullopt, live(4)).code() == Status::Code::kConflict);
  CHECK(store->compare_and_set(k, RecordStamp{3, false}, live(4)).code() == Status::Code::kConflict);
  REQUIRE(store->compare_and_set(k, RecordStamp{3, true}, live(4)).is_ok());
  REQUIRE(store->get(k, &out).is_ok());
  CHECK_FALSE(out.deleted);
  CHECK(out.version == 4);

  // The classic and a named shadow of one thing are separate records.
  CHECK(store->get({"thing-1", "cfg"}, &out).code() == Status::Code::kNotFound);
}

TEST_CASE("rocksdb store: list_named order, pagination and exclusions", "[rocksdb]") {
  TempDir dir;
  auto store = open_store(dir.db());
  put_new(*store, {"a", ""}, live(1));
  for (const char* n : {"x", "b", "$sys", "B", "c", "d"}) put_new(*store, {"a", n}, live(1));
  REQUIRE(store->compare_and_set({"a", "c"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  // Neighbouring things must not leak into "a".
  put_new(*store, {"a:b", "zz"}, live(1));
  put_new(*store, {"ab", "yy"}, live(1));
  put_new(*store, {"a-", "ww"}, live(1));
  put_new(*store, {"ab", ""}, live(1));

  bool more = true;
  using V = std::vector<std::string>;
  CHECK(list(*store, "a", "", 100, &more) == V{"$sys", "B", "b", "d", "x"});
  CHECK_FALSE(more);
  CHECK(list(*store, "a:b") == V{"zz"});
  CHECK(list(*store, "ab") == V{"yy"});
  CHECK(list(*store, "nothing").empty());
  CHECK(list(*store, "a:").empty());

  CHECK(list(*store, "a", "", 2, &more) == V{"$sys", "B"});
  CHECK(more);
  CHECK(list(*store, "a", "B", 2, &more) == V{"b", "d"});
  CHECK(more);
  CHECK(list(*store, "a", "d", 2, &more) == V{"x"});
  CHECK_FALSE(more);
  // `after` need not exist; a tombstone is skipped and does not count as "more".
  CHECK(list(*store, "a", "bb", 1, &more) == V{"d"});
  CHECK(more);
  CHECK(list(*store, "a", "b", 1, &more) == V{"d"});
  CHECK(more);
  CHECK(list(*store, "a", "x", 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(list(*store, "a", "", 0, &more).empty());
  CHECK(more);

  // A trailing tombstone is not "more".
  REQUIRE(store->compare_and_set({"a", "x"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  CHECK(list(*store, "a", "b", 1, &more) == V{"d"});
  CHECK_FALSE(more);
}

TEST_CASE("rocksdb format: shadow keys parse back", "[rocksdb]") {
  using namespace rocksdb_format;
  StoreKey k;
  REQUIRE(parse_shadow_key(shadow_key("dev1", ""), &k));
  CHECK(k.thing == "dev1");
  CHECK(k.shadow.empty());
  REQUIRE(parse_shadow_key(shadow_key("a:b", "$x-1"), &k));
  CHECK(k.thing == "a:b");
  CHECK(k.shadow == "$x-1");
  CHECK_FALSE(parse_shadow_key("s/dev1", &k));                   // no NUL
  CHECK_FALSE(parse_shadow_key(std::string("s/\0x", 4), &k));   // empty thing
  CHECK_FALSE(parse_shadow_key(std::string("t/a\0x", 5), &k));  // another prefix
}

TEST_CASE("rocksdb store: list_shadows key order, pagination and tombstones", "[rocksdb]") {
  TempDir dir;
  auto store = open_store(dir.db());
  for (const char* thing : {"b", "a", "ab", "a:b", "A"}) put_new(*store, {thing, ""}, live(1));
  for (const char* n : {"x", "$sys", "B"}) put_new(*store, {"a", n}, live(1));
  put_new(*store, {"ab", "gone"}, live(1));
  REQUIRE(store->compare_and_set({"ab", "gone"}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  REQUIRE(store->compare_and_set({"b", ""}, RecordStamp{1, false}, tombstone(2, 5)).is_ok());
  put_new(*store, {"b", "n"}, live(1));
  // Keys outside the "s/" range are not shadows and must not be read.
  {
    rocksdb::DB* raw = nullptr;
    store.reset();
    rocksdb::Options o;
    REQUIRE(rocksdb::DB::Open(o, dir.db(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put({}, "s0", "not a shadow").ok());
    REQUIRE(db->Put({}, "r/x", "not a shadow").ok());
    REQUIRE(db->Close().ok());
    store = open_store(dir.db());
  }

  using V = std::vector<std::string>;
  const V all{"A/", "a/", "a/$sys", "a/B", "a/x", "a:b/", "ab/", "b/n"};
  bool more = true;
  CHECK(list_all(*store, {}, 100, &more) == all);
  CHECK_FALSE(more);

  // Page by page, each page strictly after the last key of the previous one.
  V paged;
  StoreKey after;
  for (int page = 0; page < 20; ++page) {
    std::vector<StoreKey> keys;
    REQUIRE(store->list_shadows(after, 3, &keys, &more).is_ok());
    CHECK(keys.size() <= 3);
    for (const StoreKey& k : keys) paged.push_back(k.thing + "/" + k.shadow);
    if (!more) break;
    REQUIRE_FALSE(keys.empty());
    after = keys.back();
  }
  CHECK(paged == all);

  // `after` need not exist; a classic `after` continues with its named shadows.
  CHECK(list_all(*store, {"a", ""}, 2, &more) == V{"a/$sys", "a/B"});
  CHECK(more);
  CHECK(list_all(*store, {"a", "C"}, 100, &more) == V{"a/x", "a:b/", "ab/", "b/n"});
  CHECK(list_all(*store, {"aa", ""}, 100) == V{"ab/", "b/n"});
  // A tombstone is neither listed nor "more".
  CHECK(list_all(*store, {"ab", ""}, 1, &more) == V{"b/n"});
  CHECK_FALSE(more);
  CHECK(list_all(*store, {"b", "n"}, 5, &more).empty());
  CHECK_FALSE(more);
  CHECK(list_all(*store, {}, 0, &more).empty());
  CHECK(more);
}

TEST_CASE("rocksdb store: behaves like the MemoryStore", "[rocksdb]") {
  TempDir dir;
  auto rocks = open_store(dir.db());
  MemoryStore memory;
  const std::vector<std::string> things{"a", "a:b", "ab", "b"};
  const std::vector<std::string> shadows{"", "x", "y", "$z", "x-1", "X"};
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  for (int i = 0; i < 1500; ++i) {
    StoreKey k{things[pick(things.size())], shadows[pick(shadows.size())]};
    ShadowRecord mr, rr;
    Status mg = memory.get(k, &mr);
    Status rg = rocks->get(k, &rr);
    REQUIRE(mg.code() == rg.code());
    if (mg.is_ok()) {
      REQUIRE(mr.version == rr.version);
      REQUIRE(mr.deleted == rr.deleted);
      REQUIRE(mr.deleted_at == rr.deleted_at);
      REQUIRE(mr.document == rr.document);
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
    Status rc = rocks->compare_and_set(k, expected, next);
    REQUIRE(mc.code() == rc.code());

    const std::string& thing = things[pick(things.size())];
    const std::string& after = shadows[pick(shadows.size())];
    size_t limit = pick(4);
    std::vector<std::string> mn, rn;
    bool mmore = false, rmore = true;
    REQUIRE(memory.list_named(thing, after, limit, &mn, &mmore).is_ok());
    REQUIRE(rocks->list_named(thing, after, limit, &rn, &rmore).is_ok());
    REQUIRE(mn == rn);
    REQUIRE(mmore == rmore);

    // list_shadows from a random key (present or not), or from the start.
    StoreKey from;
    if (pick(4) != 0) from = {things[pick(things.size())], shadows[pick(shadows.size())]};
    size_t all_limit = pick(6);
    std::vector<StoreKey> mk, rk;
    mmore = false;
    rmore = true;
    REQUIRE(memory.list_shadows(from, all_limit, &mk, &mmore).is_ok());
    REQUIRE(rocks->list_shadows(from, all_limit, &rk, &rmore).is_ok());
    REQUIRE(mk.size() == rk.size());
    for (size_t j = 0; j < mk.size(); ++j) {
      REQUIRE(mk[j].thing == rk[j].thing);
      REQUIRE(mk[j].shadow == rk[j].shadow);
    }
    REQUIRE(mmore == rmore);
  }
}

TEST_CASE("rocksdb store: records persist across close and reopen", "[rocksdb]") {
  TempDir dir;
  for (bool sync : {false, true}) {
    std::string path = dir.db() + (sync ? "-sync" : "-nosync");
    {
      auto store = open_store(path, sync);
      put_new(*store, {"t", ""}, live(1, "classic"));
      put_new(*store, {"t", "n1"}, live(5, "named"));
      put_new(*store, {"t", "gone"}, tombstone(9, 77));
      REQUIRE(store->flush_wal(true).is_ok());
    }
    auto store = open_store(path, sync);
    ShadowRecord out;
    REQUIRE(store->get({"t", ""}, &out).is_ok());
    CHECK(out.document == "classic");
    REQUIRE(store->get({"t", "n1"}, &out).is_ok());
    CHECK(out.version == 5);
    CHECK(out.document == "named");
    REQUIRE(store->get({"t", "gone"}, &out).is_ok());
    CHECK(out.deleted);
    CHECK(out.deleted_at == 77);
    CHECK(list(*store, "t") == std::vector<std::string>{"n1"});
    CHECK(store->count_estimate() >= 1);
    CHECK(store->approximate_size_bytes() > 0);
  }
}

TEST_CASE("rocksdb store: a database in use cannot be opened twice", "[rocksdb]") {
  TempDir dir;
  auto first = open_store(dir.db());
  RocksDbOptions o;
  o.path = dir.db();
  auto opened = RocksDbStore::open(o);
  const Status& s = opened.status();
  CHECK(s.code() == Status::Code::kIoError);
  CHECK_FALSE(opened.ok());
  CHECK_THAT(s.message(), Catch::Contains("locked") && Catch::Contains("another broker") &&
                            Catch::Contains(dir.db()));
  // The lock goes with the first store.
  first.reset();
  REQUIRE(RocksDbStore::open(o).ok());
}

TEST_CASE("rocksdb store: an unusable directory gives an actionable error", "[rocksdb]") {
  TempDir dir;
  // Tests run as root, which ignores permission bits, so use a path that no
  // one can create: one below a regular file, and one with a missing parent.
  std::string file = dir.path() + "/plain-file";
  std::ofstream(file) << "x";
  for (std::string path : {file + "/db", dir.path() + "/missing/db", file}) {
    RocksDbOptions o;
    o.path = path;
    auto opened = RocksDbStore::open(o);
    const Status& s = opened.status();
    CHECK(s.code() == Status::Code::kIoError);
    CHECK_FALSE(opened.ok());
    CHECK_THAT(s.message(), Catch::Contains(path) && Catch::Contains("writable") &&
                              Catch::Contains("mosquitto"));
  }
  RocksDbOptions o;
  CHECK(RocksDbStore::open(o).status().code() == Status::Code::kIoError);
}

TEST_CASE("rocksdb store: a corrupt database is reported, not opened", "[rocksdb]") {
  TempDir dir;
  { auto store = open_store(dir.db()); }
  std::ofstream(dir.db() + "/CURRENT", std::ios::trunc) << "garbage";
  RocksDbOptions o;
  o.path = dir.db();
  auto opened = RocksDbStore::open(o);
  const Status& s = opened.status();
  CHECK(s.code() == Status::Code::kIoError);
  CHECK_FALSE(opened.ok());
  CHECK_THAT(s.message(), Catch::Contains("corrupt") && Catch::Contains(dir.db()));
}

TEST_CASE("rocksdb store: corrupt values are I/O errors, never crashes", "[rocksdb]") {
  TempDir dir;
  {
    auto store = open_store(dir.db());
    put_new(*store, {"t", "ok"}, live(1));
    put_new(*store, {"t", "short"}, live(1));
    put_new(*store, {"t", "future"}, live(1));
  }
  {
    // Overwrite two values behind the store's back.
    rocksdb::DB* raw = nullptr;
    rocksdb::Options ro;
    REQUIRE(rocksdb::DB::Open(ro, dir.db(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    using rocksdb_format::shadow_key;
    REQUIRE(db->Put({}, shadow_key("t", "short"), "garbage").ok());
    std::string future = rocksdb_format::encode_record(live(1));
    future[0] = '\x7f';
    REQUIRE(db->Put({}, shadow_key("t", "future"), future).ok());
    REQUIRE(db->Close().ok());
  }
  auto store = open_store(dir.db());
  ShadowRecord out;
  Status s = store->get({"t", "short"}, &out);
  CHECK(s.code() == Status::Code::kIoError);
  CHECK_THAT(s.message(), Catch::Contains("short"));
  CHECK(store->get({"t", "future"}, &out).code() == Status::Code::kIoError);
  // A write over a corrupt value fails rather than guessing its stamp.
  CHECK(store->compare_and_set({"t", "short"}, std::nullopt, live(1)).code() ==
        Status::Code::kIoError);
  CHECK(store->compare_and_set({"t", "short"}, RecordStamp{1, false}, live(2)).code() ==
        Status::Code::kIoError);
  std::vector<std::string> names;
  bool more = false;
  CHECK(store->list_named("t", "", 10, &names, &more).code() == Status::Code::kIoError);
  CHECK(names.empty());
  std::vector<StoreKey> keys;
  CHECK(store->list_shadows({}, 10, &keys, &more).code() == Status::Code::kIoError);
  CHECK(keys.empty());
  // Healthy records stay readable.
  REQUIRE(store->get({"t", "ok"}, &out).is_ok());
  CHECK(out.version == 1);
}

TEST_CASE("rocksdb store: concurrent compare_and_set loses no increment", "[rocksdb]") {
  TempDir dir;
  auto store = open_store(dir.db());
  const StoreKey k{"counter", "n"};
  put_new(*store, k, live(0));
  constexpr int kThreads = 4, kIncrements = 500;
  std::vector<int> done(kThreads, 0);
  std::vector<int> errors(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Bounded: far more attempts than contention can need.
      for (int attempt = 0; attempt < 200000 && done[t] < kIncrements; ++attempt) {
        ShadowRecord cur;
        if (!store->get(k, &cur).is_ok()) {
          ++errors[t];
          continue;
        }
        Status s = store->compare_and_set(k, stamp_of(cur), live(cur.version + 1));
        if (s.is_ok()) {
          ++done[t];
        } else if (!s.is_conflict()) {
          ++errors[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(done[t] == kIncrements);
    CHECK(errors[t] == 0);
  }
  ShadowRecord out;
  REQUIRE(store->get(k, &out).is_ok());
  CHECK(out.version == kThreads * kIncrements);
  CHECK(out.document == live(kThreads * kIncrements).document);
}

// The writer half of the crash test. It runs in a fresh process (exec'd by
// the test below), so no thread or lock of this process leaks into it.
// Hidden: it does nothing unless the parent set the environment.
TEST_CASE("rocksdb crash child", "[.rocksdb_crash_child]") {
  const char* path = getenv("SHADOW_ROCKSDB_CRASH_DIR");
  const char* fd_text = getenv("SHADOW_ROCKSDB_CRASH_FD");
  if (!path || !fd_text) return;
  int fd = atoi(fd_text);
  RocksDbOptions o;
  o.path = path;
  o.sync_writes = false;
  auto opened = RocksDbStore::open(o);
  if (!opened.ok()) _exit(3);
  std::unique_ptr<RocksDbStore> store = std::move(opened).value();
  const StoreKey k{"crash", "c"};
  std::optional<RecordStamp> expected;
  for (uint64_t v = 1; v <= 1000000; ++v) {
    if (!store->compare_and_set(k, expected, live(v)).is_ok()) _exit(4);
    expected = RecordStamp{v, false};
    // Acknowledge only after the store said kOk.
    if (write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) _exit(5);
  }
  _exit(0);
}

TEST_CASE("rocksdb store: acknowledged writes survive SIGKILL", "[rocksdb]") {
  TempDir dir;
  int fds[2];
  REQUIRE(pipe(fds) == 0);

  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::string dir_env = "SHADOW_ROCKSDB_CRASH_DIR=" + dir.db();
  std::string fd_env = "SHADOW_ROCKSDB_CRASH_FD=" + std::to_string(fds[1]);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(dir_env.data());
  envp.push_back(fd_env.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", name = "rocksdb crash child";
  char* argv[] = {exe.data(), name.data(), nullptr};

  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execve(exe.c_str(), argv, envp.data());
    _exit(127);
  }
  close(fds[1]);

  // Read acknowledgements; kill the child once it is well into its writes.
  uint64_t last_ack = 0, acks = 0;
  std::string pending;
  bool killed = false, eof = false;
  while (!eof) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;  // bounded wait; checked below
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      eof = true;
      break;
    }
    pending.append(buf, static_cast<size_t>(n));
    size_t whole = pending.size() / 8 * 8;
    for (size_t i = 0; i < whole; i += 8) {
      std::memcpy(&last_ack, pending.data() + i, 8);
      ++acks;
    }
    pending.erase(0, whole);
    if (!killed && acks >= 300) {
      // While the child holds the database, this process cannot open it.
      RocksDbOptions o;
      o.path = dir.db();
      auto opened = RocksDbStore::open(o);
      const Status& s = opened.status();
      CHECK(s.code() == Status::Code::kIoError);
      CHECK_THAT(s.message(), Catch::Contains("another broker"));
      kill(pid, SIGKILL);
      killed = true;  // keep reading: acks sent before death are still in the pipe
    }
  }
  close(fds[0]);
  if (!killed) kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);

  INFO("acks " << acks << ", last " << last_ack);
  REQUIRE(eof);
  REQUIRE(killed);
  // Died by our signal, in the middle of its writes.
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  REQUIRE(acks == last_ack);  // acknowledgements arrived in order, none lost

  auto store = open_store(dir.db());
  ShadowRecord out;
  REQUIRE(store->get({"crash", "c"}, &out).is_ok());
  // Every acknowledged write is there; at most one more that was written but
  // not yet acknowledged when the signal hit.
  CHECK(out.version >= last_ack);
  CHECK(out.version <= last_ack + 1);
  CHECK(out.document == live(out.version).document);
}

}  // namespace shadow

