// The Redis Cluster a test binary of this folder runs against, started by
// with-cluster.sh, and the tools the tests need to look at it and disturb it
// (redis-cli, pids, restarting a node). Every wait here is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "store/redis/redis_store.h"

namespace shadow::redis_test {

class TestCluster {
 public:
  // The cluster described by the SHADOW_REDIS_* environment (with-cluster.sh).
  static TestCluster& get();

  // Options for a store of its own: a key prefix no other test uses, the
  // seeds, TLS and password when the cluster has them, a request timeout
  // long enough to ride out a failover.
  RedisStoreOptions store_options() const;
  std::unique_ptr<RedisStore> open_store(const RedisStoreOptions& options) const;
  std::unique_ptr<RedisStore> open_store() const { return open_store(store_options()); }

  // One command on one node (TLS and password as the cluster needs). A
  // connection failure comes back as an error reply "CONNECTION ...".
  redis::Reply command(int port, const redis::Command& command) const;
  // redis-cli --cluster <args> (e.g. reshard), bounded by `timeout 120`;
  // returns the exit status, *output gets stdout and stderr.
  int cli_cluster(const std::vector<std::string>& args, std::string* output) const;

  const std::vector<int>& ports() const { return ports_; }
  int master_of_slot(int slot) const;        // port of the slot's master, by CLUSTER SLOTS; 0 if none
  int replica_of(int master_port) const;     // port of its first connected replica; 0 if none
  std::string node_id(int port) const;       // CLUSTER MYID
  bool is_master(int port) const;            // ROLE
  pid_t pid_of(int port) const;              // from the node's pid file; 0 if not running
  void start_node(int port) const;           // scripts/redis-cluster.sh start-node

  // Waits (at most `limit`) until every slot has a master that answers and
  // has a connected replica: what the store needs to confirm writes.
  bool wait_healthy(std::chrono::seconds limit) const;

  const std::string& tls_dir() const { return tls_dir_; }
  const std::string& password_file() const { return password_file_; }

 private:
  TestCluster() = default;
  redis::ConnectionOptions connection_options() const;

  std::vector<redis::NodeAddress> nodes_;
  std::vector<int> ports_;
  std::string dir_, script_, tls_dir_, password_file_, password_;
  std::shared_ptr<redis::TlsContext> tls_;
};

// Things whose keys live in a slot served by `master_port`, named
// "<stem>-<n>", `count` of them.
std::vector<std::string> things_on_master(const TestCluster& cluster, int master_port, const std::string& stem,
                                          size_t count);

}  // namespace shadow::redis_test
