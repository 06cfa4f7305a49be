// RedisStore while slots move between masters: a slot migrated step by step
// (ASK, TRYAGAIN, then MOVED, each seen on purpose), and
// `redis-cli --cluster reshard` under a write load. Run through
// with-cluster.sh (ctest label redis-cluster).
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <thread>

#include "contract/store_contract.h"
#include "store/redis/redis_store.h"
#include "test_cluster.h"
#include "writers.h"

namespace shadow {
namespace {

using redis::Reply;
using redis_test::TestCluster;

TestCluster& cluster() { return TestCluster::get(); }

int other_master(int not_this) {
  for (int port : cluster().ports())
    if (port != not_this && cluster().is_master(port)) return port;
  FAIL("no second master");
  return 0;
}

void migrate(int from, int to, const std::vector<std::string>& keys) {
  redis::Command c{"MIGRATE", "127.0.0.1", std::to_string(to), "", "0", "5000"};
  if (!cluster().password_file().empty()) {
    auto pw = read_password_file(cluster().password_file());
    REQUIRE(pw.ok());
    c.insert(c.end(), {"AUTH", pw.value()});
  }
  c.push_back("KEYS");
  c.insert(c.end(), keys.begin(), keys.end());
  Reply r = cluster().command(from, c);
  INFO(r.str);
  REQUIRE(r.str == "OK");
}

}  // namespace

TEST_CASE("redis reshard: a slot migrated step by step gives ASK, TRYAGAIN, then MOVED", "[reshard]") {
  RedisStoreOptions o = cluster().store_options();
  auto store = cluster().open_store(o);
  const std::string thing = "migrant";
  const int slot = redis::key_slot(thing);
  const int src = cluster().master_of_slot(slot);
  const int dst = other_master(src);
  store_contract::put_new(*store, {thing, ""}, store_contract::live(1, "classic-1"));
  store_contract::put_new(*store, {thing, "n"}, store_contract::live(1, "named-1"));
  const std::string classic = redis_format::shadow_key(o.key_prefix, thing, "");
  const std::string named = redis_format::shadow_key(o.key_prefix, thing, "n");

  const std::string src_id = cluster().node_id(src), dst_id = cluster().node_id(dst);
  REQUIRE(cluster().command(dst, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", src_id}).str == "OK");
  REQUIRE(cluster().command(src, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", dst_id}).str == "OK");
  migrate(src, dst, {classic});

  // The classic record has moved: the source answers ASK, the client asks
  // the target with ASKING.
  auto before = store->counters().cluster;
  auto batches_before = store->counters().batches;
  ShadowRecord r;
  REQUIRE(store->get({thing, ""}, &r).is_ok());
  CHECK(r.document == "classic-1");
  CHECK(store->counters().cluster.ask == before.ask + 1);

  // The commit script needs all keys of the thing; half of them are still on
  // the source, which answers TRYAGAIN until the rest has moved too.
  auto write = std::async(std::launch::async, [&] {
    return store->compare_and_set({thing, ""}, RecordStamp{1, false}, store_contract::live(2, "classic-2"));
  });
  // Wait (bounded) until the client has been refused at least once.
  for (int i = 0; i < 200 && store->counters().cluster.retries == before.retries; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(store->counters().cluster.retries > before.retries);
  // Move everything else of the slot (other tests' keys too: a node cannot
  // give up a slot it still holds keys of).
  Reply left = cluster().command(src, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "10000"});
  std::vector<std::string> rest;
  for (const Reply& k : left.elements) rest.push_back(k.str);
  CHECK(std::find(rest.begin(), rest.end(), named) != rest.end());
  migrate(src, dst, rest);
  Status w = write.get();
  INFO(w.message());
  REQUIRE(w.is_ok());
  CHECK(store->counters().cluster.ask >= before.ask + 2);
  // The write was refused in its batch (TRYAGAIN) and retried alone.
  CHECK(store->counters().batches.fallbacks > batches_before.fallbacks);

  // The slot now belongs to the target everywhere: the client's map is
  // stale, the source answers MOVED, and the client updates its map.
  for (int port : cluster().ports())
    if (cluster().is_master(port))
      REQUIRE(cluster().command(port, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dst_id}).str == "OK");
  auto moved_before = store->counters().cluster.moved;
  REQUIRE(store->get({thing, "n"}, &r).is_ok());
  CHECK(r.document == "named-1");
  CHECK(store->counters().cluster.moved == moved_before + 1);
  REQUIRE(store->get({thing, ""}, &r).is_ok());
  CHECK(r.document == "classic-2");
  CHECK(store->counters().cluster.moved == moved_before + 1);  // learned once
  CHECK(store_contract::list(*store, thing) == std::vector<std::string>{"n"});
  CHECK(store_contract::list_all(*store) == std::vector<std::string>{thing + "/", thing + "/n"});
  CHECK(cluster().wait_healthy(std::chrono::seconds(30)));
}

TEST_CASE("redis reshard: redis-cli --cluster reshard under writes loses nothing", "[reshard]") {
  RedisStoreOptions o = cluster().store_options();
  auto store = cluster().open_store(o);
  const int src = cluster().master_of_slot(redis::key_slot("load-0"));
  const int dst = other_master(src);
  std::vector<StoreKey> keys;
  for (const std::string& t : redis_test::things_on_master(cluster(), src, "load", 60)) keys.push_back({t, ""});

  redis_test::Writers writers(*store, keys, 3);
  writers.start();
  REQUIRE(writers.wait_for_acks(300, std::chrono::seconds(60)));
  std::string output;
  int rc = cluster().cli_cluster({"reshard", "127.0.0.1:" + std::to_string(src), "--cluster-from",
                                  cluster().node_id(src), "--cluster-to", cluster().node_id(dst), "--cluster-slots",
                                  "1000", "--cluster-yes"},
                                 &output);
  INFO(output.substr(output.size() > 2000 ? output.size() - 2000 : 0));
  REQUIRE(rc == 0);
  REQUIRE(writers.wait_for_acks(300, std::chrono::seconds(60)));
  writers.stop();

  auto counters = store->counters().cluster;
  size_t moved_things = 0;
  for (const StoreKey& k : keys)
    if (cluster().master_of_slot(redis::key_slot(k.thing)) == dst) ++moved_things;
  auto verdict = writers.verify(*store);
  INFO("acked " << verdict.acked << ", errors " << writers.errors() << ", moved things " << moved_things
                << ", MOVED " << counters.moved << ", ASK " << counters.ask << ", retries " << counters.retries
                << "; " << verdict.first_problem);
  WARN("reshard under load: " << verdict.acked << " writes acknowledged, " << moved_things << " of " << keys.size()
                              << " things moved, MOVED " << counters.moved << ", ASK " << counters.ask
                              << ", retried " << counters.retries << ", errors " << writers.errors());
  CHECK(moved_things > 0);
  CHECK(counters.moved > 0);
  CHECK(verdict.lost == 0);
  CHECK(verdict.reused == 0);
  CHECK(writers.errors() == 0);  // redirects and refusals were all retried in time
  CHECK(cluster().wait_healthy(std::chrono::seconds(30)));
}

}  // namespace shadow
