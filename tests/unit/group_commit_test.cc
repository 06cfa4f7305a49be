// Durable mode's syncer (plugin/group_commit.h), driven by a fake store
// whose fsync the test can hold and fail: acknowledgements wait for the
// fsync that covers them, fsyncs are batched, a failure is sticky, shutdown
// syncs what was applied.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "plugin/runtime/group_commit.h"

using namespace std::chrono_literals;
using shadow::runtime::DurableEntry;
using shadow::runtime::DurableMode;
using shadow::runtime::GroupCommitHooks;
using shadow::runtime::GroupCommitter;
using shadow::OutMessage;
using shadow::runtime::SyncTrace;
using Wait = GroupCommitter::Wait;

namespace {

// A store that numbers writes and whose fsync can be held at a gate or made
// to fail. Records, per fsync, the latest sequence when the fsync began.
class FakeStore {
 public:
  uint64_t write() {
    std::lock_guard<std::mutex> g(mu_);
    return ++seq_;
  }
  uint64_t latest() {
    std::lock_guard<std::mutex> g(mu_);
    return seq_;
  }
  shadow::Status sync() {
    std::unique_lock<std::mutex> lock(mu_);
    started_.push_back(seq_);
    cv_.notify_all();
    cv_.wait(lock, [this] { return !hold_; });
    return error_.empty() ? shadow::Status::ok() : shadow::Status::io_error(error_);
  }
  void hold(bool on) {
    std::lock_guard<std::mutex> g(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void fail_with(std::string e) {
    std::lock_guard<std::mutex> g(mu_);
    error_ = std::move(e);
  }
  // Waits (bounded) until `n` fsyncs have started.
  bool wait_started(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return started_.size() >= n; });
  }
  std::vector<uint64_t> started() {
    std::lock_guard<std::mutex> g(mu_);
    return started_;
  }
  GroupCommitHooks hooks(std::function<void()> on_progress = {}) {
    return {[this] { return latest(); }, [this] { return sync(); }, std::move(on_progress)};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t seq_ = 0;
  bool hold_ = false;
  std::string error_;
  std::vector<uint64_t> started_;
};

// Polls `cond` for up to 10 s: for effects the syncer has after waking waiters.
template <typename Cond>
bool eventually(Cond cond) {
  for (int i = 0; i < 10000; i++) {
    if (cond()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return cond();
}

}  // namespace

TEST_CASE("group commit: a write is durable only after an fsync that began after it",
          "[durable]") {
  FakeStore store;
  std::atomic<int> progress{0};
  GroupCommitter c(store.hooks([&] { progress++; }), nullptr);
  CHECK(c.durable() == 0);
  uint64_t s1 = store.write();
  CHECK(c.wait_durable(s1, 10s) == Wait::kDurable);
  CHECK(c.durable() >= s1);
  std::vector<uint64_t> started = store.started();
  REQUIRE(!started.empty());
  CHECK(started.back() >= s1);
  CHECK(c.durable() <= started.back());  // never more than the fsync covered
  CHECK(eventually([&] { return progress.load() >= 1; }));  // called right after the fsync
  CHECK_FALSE(c.failed());
}

TEST_CASE("group commit: writes made during an fsync share the next one", "[durable]") {
  FakeStore store;
  GroupCommitter c(store.hooks(), nullptr);
  store.hold(true);
  uint64_t first = store.write();
  c.request(first);
  REQUIRE(store.wait_started(1));  // fsync #1 covers `first` only
  uint64_t last = 0;
  for (int i = 0; i < 50; i++) {
    last = store.write();
    c.request(last);
  }
  CHECK(c.wait_durable(first, 20ms) == Wait::kTimeout);  // fsync #1 is still held
  CHECK(c.durable() == 0);
  store.hold(false);
  CHECK(c.wait_durable(last, 10s) == Wait::kDurable);
  CHECK(c.durable() == last);
  // One fsync for the first write, one for the 50 that came during it.
  CHECK(store.started() == std::vector<uint64_t>{first, last});
  CHECK(c.syncs() == 2);
}

TEST_CASE("group commit: a failed fsync is sticky and nothing later becomes durable",
          "[durable]") {
  FakeStore store;
  std::atomic<int> progress{0};
  GroupCommitter c(store.hooks([&] { progress++; }), nullptr);
  uint64_t ok = store.write();
  REQUIRE(c.wait_durable(ok, 10s) == Wait::kDurable);

  store.fail_with("IO error: fsync: Input/output error");
  uint64_t s = store.write();
  CHECK(c.wait_durable(s, 10s) == Wait::kFailed);
  CHECK(c.failed());
  CHECK(c.failure() == "IO error: fsync: Input/output error");
  CHECK(c.durable() == ok);

  store.fail_with("");  // the disk "recovers": still nothing may be acknowledged
  size_t fsyncs = store.started().size();
  uint64_t later = store.write();
  CHECK(c.wait_durable(later, 200ms) == Wait::kFailed);
  CHECK(c.durable() == ok);
  c.stop();
  CHECK(store.started().size() == fsyncs);  // no fsync after the failure, not even at stop
  CHECK(eventually([&] { return progress.load() >= 2; }));
}

TEST_CASE("group commit: stop makes everything applied durable and wakes waiters",
          "[durable]") {
  FakeStore store;
  GroupCommitter c(store.hooks(), nullptr);
  uint64_t s = 0;
  for (int i = 0; i < 5; i++) s = store.write();  // applied, never requested
  c.stop();
  CHECK(c.durable() == s);
  CHECK(store.started().back() == s);
  uint64_t after = store.write();
  CHECK(c.wait_durable(after, 10s) == Wait::kFailed);  // stopped: no hang
  c.stop();                                             // idempotent
}

TEST_CASE("group commit: stop while an fsync is held waits for it, without hanging",
          "[durable]") {
  FakeStore store;
  auto c = std::make_unique<GroupCommitter>(store.hooks(), nullptr);
  store.hold(true);
  uint64_t s = store.write();
  c->request(s);
  REQUIRE(store.wait_started(1));
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);
    store.hold(false);
  });
  c.reset();  // destructor: stop()
  releaser.join();
  CHECK(store.started().front() == s);
}

TEST_CASE("durable mode: held entries are released after the covering fsync, traced",
          "[durable]") {
  char path[] = "/tmp/shadow-sync-trace-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  auto opened = SyncTrace::open(path);
  REQUIRE(opened.ok());
  std::unique_ptr<SyncTrace> trace = std::move(opened).value();
  SyncTrace* tr = trace.get();

  FakeStore store;
  std::atomic<int> wakes{0};
  DurableMode mode([&] { return store.latest(); }, [&] { return store.sync(); },
                   [&] { wakes++; }, std::move(trace));
  store.hold(true);
  uint64_t w = store.write();
  uint64_t tag = mode.hold({shadow::OutMessage{"a/update/accepted", "{}", 1, false}}, shadow::ReplyAddress{});
  CHECK(tag == w);
  REQUIRE(store.wait_started(1));
  std::vector<uint64_t> released;
  auto publish = [&](const DurableEntry& e) {
    tr->ack(e.seq, e.messages[0].topic);
    released.push_back(e.seq);
  };
  CHECK(mode.queue().release(mode.committer().durable(), publish) == 0);
  store.hold(false);
  REQUIRE(mode.await(tag, 10s) == Wait::kDurable);
  // The entry still waits, so the syncer asks the broker thread to publish.
  CHECK(eventually([&] { return wakes.load() >= 1; }));
  CHECK(mode.queue().release(mode.committer().durable(), publish) == 1);
  CHECK(released == std::vector<uint64_t>{w});
  mode.stop();

  std::ifstream in(path);
  std::string kind, topic;
  unsigned long long seq = 0;
  long long ns = 0, sync_ns = -1;
  std::vector<std::string> kinds;
  while (in >> kind >> seq >> ns) {
    kinds.push_back(kind);
    if (kind == "sync" && seq >= w && sync_ns < 0) sync_ns = ns;
    if (kind == "ack") {
      in >> topic;
      CHECK(topic == "a/update/accepted");
      CHECK(sync_ns >= 0);  // a covering sync was logged before the ack
      CHECK(sync_ns <= ns);
    }
  }
  CHECK(kinds == std::vector<std::string>{"sync", "ack"});
  std::remove(path);
}
