// RedisStore through failovers: a forced failover and a kill -9 of a master
// under writes, and the lost-write window forced on purpose (replica paused,
// master killed): with WAIT no acknowledged write is lost; without WAIT
// (the negative control) acknowledged writes are lost, which shows that the
// check can see a loss. Run through with-cluster.sh (ctest label
// redis-cluster).
#include <signal.h>

#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "store/redis/redis_store.h"
#include "test_cluster.h"
#include "writers.h"

namespace shadow {
namespace {

using redis_test::TestCluster;
using Seconds = std::chrono::seconds;

TestCluster& cluster() { return TestCluster::get(); }

bool wait_until(const std::function<bool()>& done, Seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

struct Setup {
  std::unique_ptr<RedisStore> store;
  int master = 0, replica = 0;
  std::vector<StoreKey> keys;
};

// A store and 40 things on one master that has a replica online.
Setup setup(const std::string& stem, int wait_replicas) {
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  Setup s;
  RedisStoreOptions o = cluster().store_options();
  o.wait_replicas = wait_replicas;
  o.wait_timeout = std::chrono::milliseconds(200);
  s.store = cluster().open_store(o);
  s.master = cluster().master_of_slot(redis::key_slot(stem + "-probe"));
  s.replica = cluster().replica_of(s.master);
  REQUIRE(s.master != 0);
  REQUIRE(s.replica != 0);
  for (const std::string& t : redis_test::things_on_master(cluster(), s.master, stem, 40)) s.keys.push_back({t, ""});
  return s;
}

void report(const char* what, redis_test::Writers& w, const redis_test::Writers::Verdict& v, RedisStore& store,
            double promotion_s) {
  auto c = store.counters();
  WARN(what << ": " << v.acked << " writes acknowledged, lost " << v.lost << ", versions reused " << v.reused
            << ", errors " << w.errors() << " (unconfirmed by WAIT " << c.unconfirmed_writes << "), replica promoted after "
            << promotion_s << " s, topology refreshes " << c.cluster.topology_refreshes << ", MOVED "
            << c.cluster.moved << (v.first_problem.empty() ? "" : "; first problem: " + v.first_problem));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Bytes the master holds for its replicas and could not send yet (omem of
// CLIENT LIST TYPE replica): data that no replica has.
long replica_output_bytes(int master) {
  redis::Reply r = cluster().command(master, {"CLIENT", "LIST", "TYPE", "replica"});
  long total = 0;
  for (size_t p = r.str.find("omem="); p != std::string::npos; p = r.str.find("omem=", p + 5))
    total += atol(r.str.c_str() + p + 5);
  return total;
}

// The lost-write window: pause the replica so that it falls behind, kill its
// master while it is behind, let the replica be promoted. Returns what the
// writers saw.
redis_test::Writers::Verdict lost_window(int wait_replicas, uint64_t* unconfirmed) {
  Setup s = setup(wait_replicas > 0 ? "window-wait" : "window-nowait", wait_replicas);
  pid_t master_pid = cluster().pid_of(s.master), replica_pid = cluster().pid_of(s.replica);
  REQUIRE(master_pid > 0);
  REQUIRE(replica_pid > 0);
  // Big documents, so that the writes made while the replica is paused
  // overflow the socket buffers between master and replica: what is still
  // in the master's own output buffer dies with it.
  redis_test::Writers writers(*s.store, s.keys, 4, 16 << 10);
  writers.start();
  REQUIRE(writers.wait_for_acks(200, Seconds(60)));

  REQUIRE(kill(replica_pid, SIGSTOP) == 0);
  // Kill the master once replication data piles up in its memory (or after
  // 1.5 s; it must be before min-replicas-max-lag, 2 s, makes it refuse writes).
  auto paused = std::chrono::steady_clock::now();
  long backlog = 0;
  while (seconds_since(paused) < 1.5 && backlog < (1 << 20)) {
    backlog = replica_output_bytes(s.master);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  uint64_t acks_before_kill = writers.acks();
  REQUIRE(kill(master_pid, SIGKILL) == 0);
  WARN("master killed " << seconds_since(paused) << " s after pausing its replica, with " << backlog
                        << " bytes of replication output queued; " << acks_before_kill << " writes acknowledged");
  REQUIRE(kill(replica_pid, SIGCONT) == 0);
  auto killed = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return cluster().is_master(s.replica); }, Seconds(30)));
  double promotion = seconds_since(killed);
  cluster().start_node(s.master);  // rejoins as the new master's replica
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  REQUIRE(writers.wait_for_acks(200, Seconds(60)));
  writers.stop();

  auto verdict = writers.verify(*s.store);
  *unconfirmed = s.store->counters().unconfirmed_writes;
  report(wait_replicas > 0 ? "lost-write window, WAIT 1" : "lost-write window, no WAIT (negative control)", writers,
         verdict, *s.store, promotion);
  return verdict;
}

}  // namespace

TEST_CASE("redis failover: CLUSTER FAILOVER FORCE under writes loses no acknowledged write", "[failover]") {
  Setup s = setup("force", 1);
  redis_test::Writers writers(*s.store, s.keys, 4);
  writers.start();
  REQUIRE(writers.wait_for_acks(300, Seconds(60)));
  auto start = std::chrono::steady_clock::now();
  REQUIRE(cluster().command(s.replica, {"CLUSTER", "FAILOVER", "FORCE"}).str == "OK");
  REQUIRE(wait_until([&] { return cluster().is_master(s.replica); }, Seconds(30)));
  double promotion = seconds_since(start);
  // The old master is alive and turns into the new master's replica.
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  REQUIRE(writers.wait_for_acks(300, Seconds(60)));
  writers.stop();
  auto verdict = writers.verify(*s.store);
  report("CLUSTER FAILOVER FORCE", writers, verdict, *s.store, promotion);
  INFO(verdict.first_problem);
  CHECK(verdict.acked >= 600);
  CHECK(verdict.lost == 0);
  CHECK(verdict.reused == 0);
  CHECK_FALSE(cluster().is_master(s.master));
}

TEST_CASE("redis failover: kill -9 of a master under writes loses no acknowledged write", "[failover]") {
  Setup s = setup("kill", 1);
  pid_t pid = cluster().pid_of(s.master);
  REQUIRE(pid > 0);
  redis_test::Writers writers(*s.store, s.keys, 4);
  writers.start();
  REQUIRE(writers.wait_for_acks(300, Seconds(60)));
  REQUIRE(kill(pid, SIGKILL) == 0);
  auto killed = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return cluster().is_master(s.replica); }, Seconds(30)));
  double promotion = seconds_since(killed);
  // The promoted replica has no replica of its own, so with
  // min-replicas-to-write 1 it refuses writes until the old master is back.
  cluster().start_node(s.master);
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  REQUIRE(writers.wait_for_acks(300, Seconds(60)));
  writers.stop();
  auto verdict = writers.verify(*s.store);
  report("kill -9 of a master", writers, verdict, *s.store, promotion);
  INFO(verdict.first_problem);
  CHECK(verdict.acked >= 600);
  CHECK(verdict.lost == 0);
  CHECK(verdict.reused == 0);
}

TEST_CASE("redis failover: the lost-write window with WAIT loses no acknowledged write", "[failover]") {
  uint64_t unconfirmed = 0;
  auto verdict = lost_window(1, &unconfirmed);
  INFO(verdict.first_problem);
  CHECK(verdict.lost == 0);
  CHECK(verdict.reused == 0);
  CHECK(unconfirmed > 0);  // the window was hit: writes the replica did not confirm were errors
}

TEST_CASE("redis failover: the lost-write window without WAIT loses acknowledged writes (negative control)",
          "[failover]") {
  uint64_t unconfirmed = 0;
  auto verdict = lost_window(0, &unconfirmed);
  CHECK(verdict.lost + verdict.reused > 0);
  CHECK(unconfirmed == 0);
}

}  // namespace shadow

namespace shadow {

TEST_CASE("redis failover: a cluster that stops answering, then comes back", "[failover]") {
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  RedisStoreOptions o = cluster().store_options();
  o.cluster.request_timeout = std::chrono::milliseconds(1500);
  o.cluster.connection.command_timeout = std::chrono::milliseconds(1000);
  auto running = cluster().open_store(o);
  ShadowRecord first;
  first.version = 1;
  first.document = "{}";
  REQUIRE(running->compare_and_set({"comeback", ""}, std::nullopt, first).is_ok());

  // Every node hangs (SIGSTOP: connections are accepted by the kernel, but
  // nothing answers). A store opened now, and one that was working, both
  // fail with an error in bounded time and say why.
  std::vector<pid_t> pids;
  for (int port : cluster().ports()) pids.push_back(cluster().pid_of(port));
  for (pid_t p : pids) REQUIRE(kill(p, SIGSTOP) == 0);
  auto fresh = cluster().open_store(o);
  ShadowRecord r;
  for (RedisStore* s : {running.get(), fresh.get()}) {
    Status g = s->get({"comeback", ""}, &r);
    CHECK(g.code() == Status::Code::kUnavailable);
    CHECK_THAT(g.message(), Catch::Contains("timed out"));
    Status h = s->health();
    CHECK(h.code() == Status::Code::kUnavailable);
  }
  for (pid_t p : pids) REQUIRE(kill(p, SIGCONT) == 0);

  // Both recover on their own once the nodes answer again.
  REQUIRE(cluster().wait_healthy(Seconds(60)));
  for (RedisStore* s : {running.get(), fresh.get()}) {
    Status g;
    for (int i = 0; i < 50; ++i) {  // bounded: the cluster may still settle
      g = s->get({"comeback", ""}, &r);
      if (g.is_ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    INFO(g.message());
    CHECK(g.is_ok());
    CHECK(s->health().is_ok());
  }
}

}  // namespace shadow
