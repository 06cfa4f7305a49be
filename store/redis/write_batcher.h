// Group commit for script writes: the writes that several threads make at
// the same time to one Redis master leave in one pipeline, followed by one
// WAIT that confirms them all.
//
// Why: with one round trip per write, a master spends most of its time on
// per-request system calls and a WAIT (and its replica acknowledgement) per
// write; so does the broker. WAIT answers how many replicas hold every
// write made on the connection so far, so one WAIT after n writes confirms
// each of them exactly as n WAITs would.
//
// How (leader and followers, as in LevelDB's write queue): a writer queues
// its command for the master of its slot. If no batch to that master is in
// flight, it becomes the leader: it takes every queued command (up to
// max_batch), sends them and the WAIT in one write on a pooled connection,
// reads the replies and hands each writer its own. Writers that arrived
// meanwhile wait; the first of them leads the next batch. Nobody waits for
// a batch to fill: under low load a batch is one write.
//
// Failures keep ClusterClient::run's rules:
// - A reply that says the command did not run (MOVED, ASK, TRYAGAIN,
//   CLUSTERDOWN, ...; cluster_routing.h) sends that one write down the
//   normal path (ClusterClient::run), which follows redirects and waits out
//   failovers. So does a write whose slot has no master in the slot map,
//   and every write of a batch that could not be sent at all (no connection).
// - No slot map can be loaded (no node answers): the error, at once.
// - A batch that was sent but got no complete answer may or may not have
//   run: every write in it is answered kUnavailable "outcome unknown" and
//   never retried.
//
// Thread-safe. A follower's wait is bounded by the leader's, which is
// bounded by the connect and command timeouts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/status.h"
#include "store/redis/cluster_client.h"

namespace shadow::redis {

class WriteBatcher {
 public:
  // `wait`: the command that follows every batch (WAIT n timeout), or none.
  WriteBatcher(ClusterClient& client, std::optional<Command> wait, size_t max_batch = 64);

  // Runs `command`, a write to keys of `slot`. On success *replies holds its
  // reply and, when a wait command is set, the wait's reply: the same shape
  // as ClusterClient::run(slot, {command, wait}, ...).
  Status run(int slot, const Command& command, std::vector<Reply>* replies);

  struct Counters {
    uint64_t batches = 0;      // pipelines sent by a leader
    uint64_t writes = 0;       // writes those pipelines carried
    uint64_t largest = 0;      // most writes in one pipeline
    uint64_t fallbacks = 0;    // writes sent down ClusterClient::run instead
  };
  Counters counters();

 private:
  struct Entry {
    const Command* command = nullptr;  // the caller's, alive until run() returns
    bool done = false;
    bool fallback = false;  // not run: the writer takes the normal path
    Status status;
    std::vector<Reply> replies;
    std::condition_variable cv;
  };
  struct Queue {
    bool busy = false;  // a leader has a batch in flight
    std::deque<Entry*> waiting;
  };

  // The leader's work for `batch`, outside the lock; fills each entry.
  void send(const NodeAddress& node, const std::vector<Entry*>& batch);
  // The normal path (ClusterClient::run) for one write.
  Status run_alone(int slot, const Command& command, std::vector<Reply>* replies);

  ClusterClient& client_;
  const std::optional<Command> wait_;
  const size_t max_batch_;
  std::mutex mu_;
  std::map<NodeAddress, Queue> queues_;
  Counters counters_;
};

}  // namespace shadow::redis
