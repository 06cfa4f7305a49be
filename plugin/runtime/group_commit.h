// Durable mode (plugin_opt_sync_writes true): group commit.
//
// Why. An fsync costs about 250 µs on this class of disk. Done inside the
// broker's MESSAGE callback it stalls every client of the broker (measured
// on a 2-core VM: 1,800 replies/s, p50 99 ms; docs/benchmarks/durable.md).
//
// How.
// - The store writes without a per-write sync: a write is in RocksDB's
//   write-ahead log (handed to the kernel) when the engine call returns.
//   RocksDB numbers writes in apply order (its sequence number).
// - Nothing that reveals a write is published yet: the broker thread (MQTT)
//   and the HTTP workers (REST) append the publications a request causes to
//   the DurableQueue (durable_queue.h), tagged with the store's latest
//   sequence, and ask the committer for a sync up to that tag.
// - The committer's thread ("syncer") loops: read the latest sequence S,
//   fsync the log (everything applied before the fsync started is then on
//   disk), publish durable = S, wake the broker. Writes that arrive during an
//   fsync are covered by the next one: one fsync per batch, not per write.
// - The broker thread, on TICK and at the start of every MESSAGE callback,
//   publishes in order every queued entry whose tag <= durable. A REST
//   handler waits (bounded) for durable >= its tag before it answers.
// So an acknowledgement (reply, event, REST answer, or a get revealing a
// write) never leaves before the fsync that covers its write, and order is
// the order the engine applied requests in (durable_queue.h).
//
// A failed fsync is not retried. On Linux a failed fsync may have dropped
// the dirty pages it could not write, so a later fsync that succeeds proves
// nothing about the earlier writes, and RocksDB would stop replaying the log
// at the hole on recovery, losing later writes too. So the failure is
// sticky: every held-back and later MQTT reply becomes a 500 "Internal
// service failure" rejection (its events are dropped), every REST request
// answers 500, and the log says to restart the broker. A 500 means "outcome
// unknown", as for any request cut off by a crash: the write is applied in
// memory and in the log file, and whether it survives is up to what reached
// the disk.
//
// Shutdown: the syncer makes one last fsync of everything applied, then
// stops. Publications still held back at that point are dropped (the broker
// no longer routes messages during plugin cleanup); their clients got no
// reply, which they must treat like a reply lost to a crash.
//
// Pure code: no broker headers. The hooks connect it to the store and the
// broker wake-up; unit tests drive it with fakes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "plugin/runtime/durable_queue.h"

namespace shadow::runtime {

// TEST AID (plugin_opt_debug_sync_log): appends one line per event to a
// file, with CLOCK_MONOTONIC nanoseconds, so that tests can check that no
// acknowledgement precedes the fsync covering it:
//   sync <durable_seq> <ns>        written after the fsync, before durable is
//                                  raised (so before any ack it allows)
//   ack <tag> <ns> <topic>         written before the first publication of an
//                                  entry (topic: its first message)
//   fail <tag> <ns> <topic>        an entry answered 500 after a failed fsync
// Costs a locked, line-buffered write per line: never enable in production.
class SyncTrace {
 public:
  // An I/O error when the file cannot be opened for appending.
  static StatusOr<std::unique_ptr<SyncTrace>> open(const std::string& path);
  ~SyncTrace();
  static int64_t monotonic_ns();
  void sync(uint64_t durable_seq);
  void ack(uint64_t tag, std::string_view topic);
  void fail(uint64_t tag, std::string_view topic);

 private:
  explicit SyncTrace(std::FILE* f) : f_(f) {}
  void line(const char* kind, uint64_t seq, std::string_view topic);
  std::mutex mu_;
  std::FILE* f_;
};

struct GroupCommitHooks {
  // The store's sequence number of the latest applied write. Any thread.
  std::function<uint64_t()> latest_seq;
  // Makes every write applied before the call durable (fsync). Called on
  // the syncer thread only, never concurrently.
  std::function<Status()> sync;
  // After each fsync attempt (durable raised, or failed): the broker thread
  // should look at the queue. Syncer thread; must not block.
  std::function<void()> on_progress;
};

// The syncer thread and the durable sequence number.
class GroupCommitter {
 public:
  enum class Wait { kDurable, kFailed, kTimeout };

  // Starts the syncer thread (block the broker's signals around this).
  // `trace` may be null; it must outlive the committer.
  GroupCommitter(GroupCommitHooks hooks, SyncTrace* trace);
  // stop().
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Any thread: a write up to `seq` must become durable. Cheap when an fsync
  // for it is already due.
  void request(uint64_t seq);

  // Every write with a sequence <= this is fsynced.
  uint64_t durable() const { return durable_.load(std::memory_order_acquire); }
  // Sticky: a sync failed (see the file comment).
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string failure() const;
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

  // request(seq), then blocks until durable() >= seq (kDurable), a sync
  // failed or the committer stopped first (kFailed), or `timeout` passed.
  Wait wait_durable(uint64_t seq, std::chrono::milliseconds timeout);
  // Threads blocked in wait_durable() right now (REST requests waiting for
  // their fsync): lets a test see that a request is waiting, not done.
  int waiters() const { return waiters_.load(std::memory_order_acquire); }

  // Final fsync of everything applied, then joins the thread; wakes every
  // waiter. Idempotent.
  void stop();

 private:
  void run();
  // One fsync round; called with mu_ held, returns with it held.
  void sync_once(std::unique_lock<std::mutex>& lock);

  GroupCommitHooks hooks_;
  SyncTrace* trace_;
  std::atomic<uint64_t> requested_{0};
  std::atomic<uint64_t> durable_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> idle_{false};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<int> waiters_{0};
  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // syncer waits for requests
  std::condition_variable durable_cv_;  // REST handlers wait for durability
  std::string failure_;
  bool stop_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

// What the MQTT adapter and the REST API share in durable mode: the queue,
// the committer and the store's sequence.
class DurableMode {
 public:
  // `wake` asks the broker thread to run soon (BrokerWaker::request); it is
  // called after each fsync while entries are queued. `trace` may be null.
  DurableMode(std::function<uint64_t()> latest_seq, std::function<Status()> sync,
              std::function<void()> wake, std::unique_ptr<SyncTrace> trace);

  // The store's latest write sequence: a tag that covers every write a
  // response computed now may reveal. Any thread.
  uint64_t current_seq() const { return latest_seq_(); }

  // Holds `messages` back until the writes up to the current sequence are
  // durable and asks for that sync; returns the entry's tag. Call under the
  // shadow's lock, right after the engine call. `reply_to`: the MQTT request
  // the messages answer (see DurableEntry).
  uint64_t hold(std::vector<OutMessage> messages, std::optional<ReplyAddress> reply_to);

  // REST: blocks until the writes up to `seq` are durable (kDurable), or
  // fails (kFailed: sync failed; kTimeout).
  GroupCommitter::Wait await(uint64_t seq, std::chrono::milliseconds timeout) {
    return committer_.wait_durable(seq, timeout);
  }

  DurableQueue& queue() { return queue_; }
  GroupCommitter& committer() { return committer_; }
  SyncTrace* trace() { return trace_.get(); }

  // Final fsync and join (see GroupCommitter::stop).
  void stop() { committer_.stop(); }

 private:
  std::function<uint64_t()> latest_seq_;
  std::unique_ptr<SyncTrace> trace_;
  DurableQueue queue_;
  GroupCommitter committer_;  // last: its thread uses the members above
};

}  // namespace shadow::runtime
