// A small Redis Cluster client: routes each command to the master of its
// slot, follows MOVED and ASK, waits out a failover or a resharding, and
// gives up at a deadline. It is the I/O half of the routing rules in
// cluster_routing.h.
//
// What it does, in order, for run(slot, pipeline):
// - takes the master of the slot from its slot map (loaded with CLUSTER
//   SLOTS from any known node or seed; reloaded on MOVED, READONLY, and
//   after a connection failure);
// - takes an idle connection to that node from the node's pool, or opens
//   one (connect timeout, TLS, AUTH);
// - sends the pipeline and reads the replies;
// - on MOVED: updates the slot, reloads the map, retries at once;
//   on ASK: retries once on the named node, prefixed with ASKING;
//   on TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN, NOREPLICAS, BUSY or a
//   failed connect: waits (exponential backoff with jitter) and retries;
// - stops at the request deadline with kUnavailable naming the last error.
//
// Redirects and refusals are only taken from the first reply of a pipeline:
// every command of one pipeline must address the same slot, and the first
// one is the one that counts (the store sends [EVALSHA, WAIT]).
//
// Writes are never retried blind. A pipeline marked kWrite that was sent but
// got no reply (the node died, the connection timed out) may or may not have
// run: that is returned as kUnavailable "outcome unknown", never retried,
// because a second attempt could apply a write twice or report a conflict
// for our own write. Reads are retried.
//
// Thread-safe: any number of threads may call run() at once; each call uses
// its own pooled connection.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/redis/cluster_routing.h"
#include "store/redis/connection.h"
#include "store/redis/reply.h"

namespace shadow::redis {

struct ClusterOptions {
  std::vector<NodeAddress> seeds;  // where to load the slot map from first; any node will do
  ConnectionOptions connection;
  // TLS for every connection (create() builds connection.tls from it when
  // tls.enabled and connection.tls is not set already).
  TlsOptions tls;
  // The whole of one call, retries and failover waits included. A Redis
  // failover takes cluster-node-timeout plus an election (about 3-5 s with
  // a 2 s node timeout), so the default rides one out.
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds backoff_base{20};
  std::chrono::milliseconds backoff_cap{500};
  size_t max_idle_per_node = 8;  // idle connections kept per node
};

// The error for a write that was sent but got no reply (`cause`): it may
// or may not have run, so it is never retried.
Status outcome_unknown(const Status& cause);

class ClusterClient {
 public:
  enum class Mode { kRead, kWrite };

  // Validates the options (at least one seed, positive timeouts, usable TLS
  // files). Does not connect: a cluster that is down at start-up is not an
  // error here; calls fail with kUnavailable until it is reachable, and
  // health() says why.
  static StatusOr<std::unique_ptr<ClusterClient>> create(ClusterOptions options);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Runs `pipeline` (commands for keys of `slot`) on the slot's master; see
  // the header comment for retries. *replies gets one reply per command.
  // kUnavailable when the deadline passed or a write's outcome is unknown.
  Status run(int slot, const std::vector<Command>& pipeline, std::vector<Reply>* replies, Mode mode);

  // Runs read-only `pipeline` on `node` as it is: no redirects followed, the
  // caller looks at each reply (used to read many slots in one round trip).
  Status run_on_node(const NodeAddress& node, const std::vector<Command>& pipeline, std::vector<Reply>* replies);

  // Runs `pipeline` on `node` once: no redirects followed, nothing retried
  // (WriteBatcher's batches). *maybe_executed as for Connection::run.
  Status run_once(const NodeAddress& node, const std::vector<Command>& pipeline, std::vector<Reply>* replies,
                  bool* maybe_executed);

  // The current slot map, loading it if none is known yet.
  StatusOr<std::shared_ptr<const SlotMap>> slot_map();

  // Reloads the slot map now. Fails when no known node answers CLUSTER
  // SLOTS; the message lists what each node said.
  Status refresh_topology();

  // For health checks: reloads the map, checks that every slot has a master
  // and that each master answers PING. OK, or kUnavailable saying what is
  // wrong (unreachable nodes, unserved slots, wrong password).
  Status health();

  // Counters for metrics and tests.
  struct Counters {
    uint64_t moved = 0;
    uint64_t ask = 0;
    uint64_t retries = 0;          // refused commands and failed connects retried
    uint64_t topology_refreshes = 0;
    uint64_t connections_opened = 0;
  };
  Counters counters();

  const ClusterOptions& options() const { return options_; }

 private:
  struct NodePool {
    std::mutex mu;
    std::vector<std::unique_ptr<Connection>> idle;
  };

  explicit ClusterClient(ClusterOptions options);
  StatusOr<std::unique_ptr<Connection>> acquire(const NodeAddress& node, Clock::time_point deadline);
  void release(std::unique_ptr<Connection> c);
  NodePool& pool_for(const NodeAddress& node);
  std::shared_ptr<const SlotMap> current_map();
  Status refresh_topology(Clock::time_point deadline);
  Status run_on_node(const NodeAddress& node, const std::vector<Command>& pipeline, std::vector<Reply>* replies,
                     Clock::time_point deadline, bool* maybe_executed = nullptr);
  void note_moved(int slot, const NodeAddress& node);
  void sleep_backoff(int attempt, Clock::time_point deadline);

  ClusterOptions options_;

  std::mutex map_mu_;  // guards map_ and counters_
  std::shared_ptr<const SlotMap> map_;
  Clock::time_point last_refresh_{};
  Counters counters_;
  std::mutex refresh_mu_;  // one refresh at a time

  std::mutex pools_mu_;  // guards the map, not the pools
  std::map<NodeAddress, std::unique_ptr<NodePool>> pools_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace shadow::redis
