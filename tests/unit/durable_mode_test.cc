// Durable mode through the request pipeline, without a broker: a REST
// request is answered only once the writes its answer may reveal are
// fsynced, its MQTT messages are held back until then, a failed fsync
// answers 500; the store's sequence number group commit relies on; the
// test-aid option. (MQTT requests in durable mode: pipeline_test.cc.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugin/options/options.h"
#include "plugin/rest/api.h"
#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/pipeline.h"
#include "fake_disk.h"
#include "forwarding_store.h"
#include "recording_output.h"
#include "store/memory_store.h"
#include "store/rocksdb/rocksdb_store.h"

using namespace std::chrono_literals;
using shadow::runtime::DurableEntry;
using shadow::runtime::DurableMode;
using shadow::rest::HttpRequest;
using shadow::rest::HttpResponse;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1672628645));

// A MemoryStore that numbers its successful writes, like RocksDB's sequence.
class NumberedStore final : public ForwardingStore {
 public:
  shadow::Status compare_and_set(const shadow::StoreKey& k,
                                 const std::optional<shadow::RecordStamp>& expected,
                                 const shadow::ShadowRecord& next,
                                 const std::vector<shadow::ItemChange>& items = {}) override {
    shadow::Status s = inner_.compare_and_set(k, expected, next, items);
    if (s.is_ok()) seq_++;
    return s;
  }
  uint64_t seq() const { return seq_.load(); }

 private:
  std::atomic<uint64_t> seq_{0};
};

struct Fixture {
  NumberedStore store;
  shadow::Service service{shadow::Config{}, store};
  shadow::runtime::Metrics metrics;
  FakeDisk disk;
  DurableMode durable{[this] { return store.seq(); }, [this] { return disk.sync(); }, [] {},
                      nullptr};
  shadow::runtime::Pipeline pipeline{service, metrics, {nullptr, &durable, nullptr, 10s}};
  shadow::rest::RestApi api{pipeline, metrics, nullptr, {}};

  // Waits (bounded) until `n` REST requests are blocked waiting for their fsync.
  bool wait_for_waiters(int n) {
    for (int i = 0; i < 10000 && durable.committer().waiters() < n; i++)
      std::this_thread::sleep_for(1ms);
    return durable.committer().waiters() >= n;
  }
  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {}) {
    HttpRequest r{method, target, {}, body};
    return api.handle(r, "req-1", kNow);
  }
  std::vector<std::string> released_topics() {
    std::vector<std::string> topics;
    durable.queue().release(durable.committer().durable(), [&](const DurableEntry& e) {
      for (const auto& m : e.messages) topics.push_back(m.topic);
    });
    return topics;
  }
};

}  // namespace

TEST_CASE("durable rest: an update answers only after its fsync; events wait too", "[durable]") {
  Fixture f;
  f.disk.hold(true);
  std::atomic<bool> done{false};
  HttpResponse r;
  std::thread client([&] {
    r = f.call("POST", "/things/t1/shadow", R"({"state":{"desired":{"x":1}}})");
    done = true;
  });
  REQUIRE(f.disk.wait_started(1));  // the fsync covering the write began and is held
  REQUIRE(f.wait_for_waiters(1));   // the request waits for it...
  CHECK_FALSE(done.load());         // ...so its answer has not been sent
  RecordingOutput out;
  f.pipeline.flush(out);
  CHECK(out.messages.empty());  // nothing bypasses the hold-back
  CHECK(f.released_topics().empty());
  f.disk.hold(false);
  client.join();
  CHECK(r.status == 200);
  CHECK(f.durable.committer().durable() >= 1);
  std::vector<std::string> topics = f.released_topics();
  REQUIRE_FALSE(topics.empty());
  CHECK(topics.front() == "$aws/things/t1/shadow/update/accepted");
  CHECK(std::count(topics.begin(), topics.end(), "$aws/things/t1/shadow/update/documents") == 1);
  CHECK(f.durable.queue().empty());
  f.durable.stop();
}

TEST_CASE("durable rest: a get waits for the fsync of the write it reads", "[durable]") {
  Fixture f;
  REQUIRE(f.call("POST", "/things/t1/shadow", R"({"state":{"reported":{"x":1}}})").status == 200);
  f.disk.hold(true);
  int before = f.disk.started();
  // An MQTT-side write applied but not yet durable (the broker thread would
  // hold its replies back).
  f.durable.hold({}, std::nullopt);
  REQUIRE(f.store.compare_and_set({"t2", ""}, std::nullopt, shadow::ShadowRecord{1, false, 0, "{}"})
              .is_ok());
  std::atomic<bool> done{false};
  std::thread client([&] {
    f.call("GET", "/things/t1/shadow");
    done = true;
  });
  REQUIRE(f.disk.wait_started(before + 1));
  REQUIRE(f.wait_for_waiters(1));
  CHECK_FALSE(done.load());
  f.disk.hold(false);
  client.join();
  CHECK(done.load());
  f.durable.stop();
}

TEST_CASE("durable rest: a failed fsync answers 500 and publishes nothing", "[durable]") {
  Fixture f;
  f.disk.fail_with("IO error: fsync");
  HttpResponse r = f.call("POST", "/things/t1/shadow", R"({"state":{"desired":{"x":1}}})");
  CHECK(r.status == 500);
  CHECK(r.error_type == "InternalFailureException");
  CHECK(f.durable.committer().failed());
  CHECK(f.released_topics().empty());
  // Sticky: a later request fails too, even a read.
  CHECK(f.call("GET", "/things/t1/shadow").status == 500);
  RecordingOutput out;
  f.pipeline.flush(out);
  CHECK(out.messages.empty());
  auto logged = [&](std::string_view text) {
    return std::any_of(out.logs.begin(), out.logs.end(),
                       [&](const auto& l) { return l.second.find(text) != std::string::npos; });
  };
  CHECK(logged("REST request answered 500: the write-ahead log fsync failed"));
  CHECK(logged("fsync of the write-ahead log failed (IO error: fsync)"));
  f.durable.stop();
}

TEST_CASE("durable options: debug_sync_log is a path, off by default", "[durable]") {
  using shadow::plugin::PluginConfig;
  auto parsed = shadow::plugin::parse_options({{"db_path", "/tmp/x"}});
  REQUIRE(parsed.ok());
  CHECK(parsed->debug_sync_log.empty());
  parsed = shadow::plugin::parse_options(
      {{"db_path", "/tmp/x"}, {"sync_writes", "true"}, {"debug_sync_log", "/tmp/trace"}});
  REQUIRE(parsed.ok());
  CHECK(parsed->debug_sync_log == "/tmp/trace");
  CHECK(shadow::plugin::describe(parsed.value()).find("debug_sync_log=/tmp/trace") != std::string::npos);
  CHECK_FALSE(shadow::plugin::parse_options({{"db_path", "/tmp/x"}, {"debug_sync_log", ""}}).ok());
}

TEST_CASE("durable store: the RocksDB sequence grows with each write, not with conflicts",
          "[durable]") {
  char tmpl[] = "/tmp/shadow-durable-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  {
    shadow::RocksDbOptions o;
    o.path = dir + "/db";
    auto opened = shadow::RocksDbStore::open(o);
    REQUIRE(opened.ok());
    std::unique_ptr<shadow::RocksDbStore> db = std::move(opened).value();
    uint64_t s0 = db->latest_sequence();
    shadow::ShadowRecord rec{1, false, 0, "{}"};
    REQUIRE(db->compare_and_set({"t", ""}, std::nullopt, rec).is_ok());
    uint64_t s1 = db->latest_sequence();
    CHECK(s1 > s0);
    // Conflict: nothing written, the sequence stays.
    CHECK(db->compare_and_set({"t", ""}, std::nullopt, rec).code() == shadow::Status::Code::kConflict);
    CHECK(db->latest_sequence() == s1);
    rec.version = 2;
    REQUIRE(db->compare_and_set({"t", ""}, shadow::RecordStamp{1, false}, rec).is_ok());
    CHECK(db->latest_sequence() > s1);
    CHECK(db->flush_wal(true).is_ok());
  }
  std::filesystem::remove_all(dir);
}
