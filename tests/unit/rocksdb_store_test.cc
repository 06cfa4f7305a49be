// Tests of what is particular to the RocksDB store: the on-disk format,
// opening failures, corruption and durability across a SIGKILL. The Store
// contract itself is checked in store_contract_test.cc.
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
#include <rocksdb/db.h>

#include "contract/store_contract.h"
#include "rocksdb_test_util.h"
#include "store/rocksdb/rocksdb_store.h"

extern char** environ;

namespace shadow {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

std::unique_ptr<RocksDbStore> open_store(const std::string& path, bool sync = false) {
  RocksDbOptions o;
  o.path = path;
  o.sync_writes = sync;
  auto store = RocksDbStore::open(o);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}

using store_contract::list;
using store_contract::list_all;
using store_contract::live;
using store_contract::put_new;
using store_contract::tombstone;

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

TEST_CASE("rocksdb store: list_shadows reads only shadow keys", "[rocksdb]") {
  // The key order, pagination and tombstone rules are the store contract
  // (store_contract_test.cc); this is about RocksDB keys that are not shadows.
  TempDir dir;
  auto store = open_store(dir.db());
  put_new(*store, {"a", ""}, live(1));
  put_new(*store, {"a", "x"}, live(1));
  put_new(*store, {"b", ""}, live(1));
  {
    rocksdb::DB* raw = nullptr;
    store.reset();
    rocksdb::Options o;
    REQUIRE(rocksdb::DB::Open(o, dir.db(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put({}, "s0", "not a shadow").ok());
    REQUIRE(db->Put({}, "r/x", "not a shadow").ok());
    REQUIRE(db->Put({}, "a", "not a shadow").ok());
    REQUIRE(db->Close().ok());
    store = open_store(dir.db());
  }
  bool more = true;
  CHECK(list_all(*store, {}, 100, &more) == std::vector<std::string>{"a/", "a/x", "b/"});
  CHECK_FALSE(more);
  CHECK(list_all(*store, {"a", "x"}, 100, &more) == std::vector<std::string>{"b/"});
  CHECK_FALSE(more);
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

