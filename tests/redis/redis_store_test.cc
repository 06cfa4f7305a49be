// RedisStore against a live Redis Cluster: the Store contract (the same
// checks as MemoryStore and RocksDbStore), key slots as the server computes
// them, the script's indexes, tombstone TTLs, WAIT gating, events, corrupt
// records and script reloading. Run through with-cluster.sh (ctest label
// redis-cluster).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "contract/store_contract.h"
#include "store/redis/redis_store.h"
#include "test_cluster.h"

namespace shadow {
namespace {

using redis::Reply;
using redis_test::TestCluster;

TestCluster& cluster() { return TestCluster::get(); }

}  // namespace

TEST_CASE("redis cluster: our key slots are the server's", "[contract]") {
  int port = cluster().ports()[0];
  std::vector<std::string> keys{"foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
                                redis_format::shadow_key("p:", "dev-1", "cfg"),
                                redis_format::things_key("", 0), redis_format::things_key("x", 16383)};
  for (int i = 0; i < 200; ++i) keys.push_back("thing-" + std::to_string(i * 7919));
  for (const std::string& k : keys) {
    Reply r = cluster().command(port, {"CLUSTER", "KEYSLOT", k});
    INFO(k << ": " << r.str);
    REQUIRE(r.type == Reply::Type::kInteger);
    CHECK(r.integer == redis::key_slot(k));
  }
}

TEST_CASE("redis store contract: get and compare_and_set", "[contract]") {
  auto store = cluster().open_store();
  store_contract::get_and_compare_and_set(*store);
}

TEST_CASE("redis store contract: list_named", "[contract]") {
  auto store = cluster().open_store();
  store_contract::list_named_order_and_pages(*store);
}

TEST_CASE("redis store contract: list_shadows", "[contract]") {
  auto store = cluster().open_store();
  store_contract::list_shadows_order_and_pages(*store);
}

TEST_CASE("redis store contract: behaves like the MemoryStore", "[contract]") {
  auto store = cluster().open_store();
  // list_shadows reads all 16384 slot indexes: every 10th step keeps this short.
  store_contract::matches_memory_store(*store, 600, 10);
}

TEST_CASE("redis store contract: concurrent compare_and_set", "[contract]") {
  auto store = cluster().open_store();
  store_contract::concurrent_compare_and_set(*store, 4, 150);
}

TEST_CASE("redis store contract: items", "[contract]") {
  auto store = cluster().open_store();
  store_contract::items(*store);
}

TEST_CASE("redis store contract: scan_shadows", "[contract]") {
  auto store = cluster().open_store();
  store_contract::scan_shadows_order_and_ranges(*store);
}

TEST_CASE("redis store contract: items written with a record", "[contract]") {
  auto store = cluster().open_store();
  store_contract::items_with_record(*store);
}

TEST_CASE("redis store: items are WAIT-gated and refuse braces in the space", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  o.wait_replicas = 2;  // more than there are: never confirmed
  o.wait_timeout = std::chrono::milliseconds(100);
  auto store = cluster().open_store(o);
  Status p = store->put_item("rules", "r1", "v");
  CHECK(p.code() == Status::Code::kUnavailable);
  CHECK_THAT(p.message(), Catch::Contains("outcome unknown") && Catch::Contains("rules/r1"));
  // Refused by put-if-absent: nothing written, nothing to confirm.
  CHECK(store->put_item("rules", "r1", "w", ItemWrite::kIfAbsent).is_conflict());
  CHECK(store->delete_item("rules", "r1").code() == Status::Code::kUnavailable);
  CHECK(store->counters().unconfirmed_writes == 2);
  std::string v;
  CHECK(store->get_item("a{b", "k", &v).code() == Status::Code::kInvalidArgument);
  CHECK(store->put_item("", "k", "v").code() == Status::Code::kInvalidArgument);
}

TEST_CASE("redis store: items with a record are written only after the record is confirmed", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  o.wait_replicas = 2;  // more than there are: never confirmed
  o.wait_timeout = std::chrono::milliseconds(100);
  auto store = cluster().open_store(o);
  std::vector<ItemChange> items = {{"history", std::string("h\0\0001", 5), "entry"}};
  Status s = store->compare_and_set({"h", ""}, std::nullopt, store_contract::live(1), items);
  CHECK(s.code() == Status::Code::kUnavailable);
  // The record is on the master (outcome unknown), the item was never sent:
  // a history can miss an entry, never hold one for a lost write.
  std::string v;
  CHECK(store->get_item("history", std::string("h\0\0001", 5), &v).is_not_found());
  CHECK(store->counters().unconfirmed_writes == 1);
}

TEST_CASE("redis store: list_shadows merges things from every master", "[contract]") {
  auto store = cluster().open_store();
  std::set<std::string> expected;
  std::set<int> masters;
  for (int i = 0; i < 120; ++i) {
    std::string thing = "dev-" + std::to_string(i * 37 % 1000);
    masters.insert(cluster().master_of_slot(redis::key_slot(thing)));
    if (i % 3 != 0) {
      store_contract::put_new(*store, {thing, ""}, store_contract::live(1));
      expected.insert(thing + "/");
    }
    for (int n = 0; n < i % 4; ++n) {
      std::string name = "s" + std::to_string(n);
      store_contract::put_new(*store, {thing, name}, store_contract::live(1));
      expected.insert(thing + "/" + name);
    }
  }
  CHECK(masters.size() == 3);
  std::vector<std::string> want(expected.begin(), expected.end());  // std::set orders by bytes, like the store
  std::vector<std::string> paged;
  StoreKey after;
  bool more = true;
  for (int page = 0; page < 100 && more; ++page) {
    std::vector<StoreKey> keys;
    Status s = store->list_shadows(after, 17, &keys, &more);
    INFO(s.message());
    REQUIRE(s.is_ok());
    for (const StoreKey& k : keys) paged.push_back(k.thing + "/" + k.shadow);
    if (!keys.empty()) after = keys.back();
  }
  CHECK_FALSE(more);
  CHECK(paged == want);
  // One big page gives the same.
  CHECK(store_contract::list_all(*store, {}, 1000) == want);
}

TEST_CASE("redis store: the script keeps both indexes exact", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  auto store = cluster().open_store(o);
  const std::string& p = o.key_prefix;
  int slot = redis::key_slot("lamp");
  int master = cluster().master_of_slot(slot);
  auto zrange = [&](const std::string& key) {
    Reply r = cluster().command(master, {"ZRANGE", key, "0", "-1"});
    std::vector<std::string> out;
    for (const Reply& e : r.elements) out.push_back(e.str);
    return out;
  };
  using V = std::vector<std::string>;
  const std::string ix = redis_format::index_key(p, "lamp"), tx = redis_format::things_key(p, slot);
  store_contract::put_new(*store, {"lamp", "b"}, store_contract::live(1));
  store_contract::put_new(*store, {"lamp", "a"}, store_contract::live(1));
  CHECK(zrange(ix) == V{"a", "b"});
  CHECK(zrange(tx) == V{"lamp"});
  REQUIRE(store->compare_and_set({"lamp", "a"}, RecordStamp{1, false}, store_contract::tombstone(2, 1)).is_ok());
  CHECK(zrange(ix) == V{"b"});
  CHECK(zrange(tx) == V{"lamp"});
  // A live classic shadow keeps the thing listed after its last named one goes.
  store_contract::put_new(*store, {"lamp", ""}, store_contract::live(1));
  REQUIRE(store->compare_and_set({"lamp", "b"}, RecordStamp{1, false}, store_contract::tombstone(2, 1)).is_ok());
  CHECK(zrange(ix).empty());
  CHECK(zrange(tx) == V{"lamp"});
  REQUIRE(store->compare_and_set({"lamp", ""}, RecordStamp{1, false}, store_contract::tombstone(2, 1)).is_ok());
  CHECK(zrange(tx).empty());
  // A conflicting write changes neither index.
  CHECK(store->compare_and_set({"lamp", "c"}, RecordStamp{9, false}, store_contract::live(10)).code() ==
        Status::Code::kConflict);
  CHECK(zrange(ix).empty());
  CHECK(zrange(tx).empty());
}

TEST_CASE("redis store: tombstones expire after the TTL, live records never", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  o.tombstone_ttl_s = 60;
  auto store = cluster().open_store(o);
  const std::string key = redis_format::shadow_key(o.key_prefix, "ttl-thing", "n");
  int master = cluster().master_of_slot(redis::key_slot(key));
  store_contract::put_new(*store, {"ttl-thing", "n"}, store_contract::live(1));
  CHECK(cluster().command(master, {"PTTL", key}).integer == -1);
  REQUIRE(store->compare_and_set({"ttl-thing", "n"}, RecordStamp{1, false}, store_contract::tombstone(2, 1)).is_ok());
  long long ttl = cluster().command(master, {"PTTL", key}).integer;
  CHECK(ttl > 50000);
  CHECK(ttl <= 60000);
  // Re-creating the shadow removes the expiry.
  REQUIRE(store->compare_and_set({"ttl-thing", "n"}, RecordStamp{2, true}, store_contract::live(3)).is_ok());
  CHECK(cluster().command(master, {"PTTL", key}).integer == -1);
  // An expired tombstone is simply gone: the shadow can be created afresh.
  REQUIRE(store->compare_and_set({"ttl-thing", "n"}, RecordStamp{3, false}, store_contract::tombstone(4, 1)).is_ok());
  REQUIRE(cluster().command(master, {"PEXPIRE", key, "1"}).integer == 1);
  ShadowRecord r;
  Status g;
  for (int i = 0; i < 100; ++i) {  // bounded: expiry is lazy or within 100 ms
    g = store->get({"ttl-thing", "n"}, &r);
    if (g.code() == Status::Code::kNotFound) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(g.code() == Status::Code::kNotFound);
  store_contract::put_new(*store, {"ttl-thing", "n"}, store_contract::live(1));
}

TEST_CASE("redis store: a write that WAIT cannot confirm is an error, never kOk", "[contract]") {
  // Each master has one replica: asking for two can never be confirmed.
  RedisStoreOptions o = cluster().store_options();
  o.wait_replicas = 2;
  o.wait_timeout = std::chrono::milliseconds(100);
  auto store = cluster().open_store(o);
  ShadowRecord r = store_contract::live(1, "{\"x\":1}");
  Status s = store->compare_and_set({"unconfirmed", ""}, std::nullopt, r);
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK_THAT(s.message(), Catch::Contains("outcome unknown") && Catch::Contains("1 of 2 replicas"));
  CHECK(store->counters().unconfirmed_writes == 1);
  // The write is on the master (and here on its replica too): "unknown"
  // means exactly that; a reader sees it.
  ShadowRecord out;
  REQUIRE(store->get({"unconfirmed", ""}, &out).is_ok());
  CHECK(out.document == "{\"x\":1}");
  Status h = store->health();
  CHECK(h.code() == Status::Code::kUnavailable);
  CHECK_THAT(h.message(), Catch::Contains("replica"));

  // With one replica asked for, the same write is confirmed.
  RedisStoreOptions one = o;
  one.wait_replicas = 1;
  auto confirmed = cluster().open_store(one);
  CHECK(confirmed->compare_and_set({"unconfirmed", ""}, stamp_of(out), store_contract::live(2)).is_ok());
  CHECK(confirmed->counters().unconfirmed_writes == 0);
  CHECK(confirmed->health().is_ok());
}

TEST_CASE("redis store: events go out with the write, in version order, never on a conflict", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  o.listener_id = "writer";
  auto store = cluster().open_store(o);
  const std::string channel = redis_format::event_channel(o.key_prefix, "bulb");
  const int slot = redis::key_slot(channel);
  int master = cluster().master_of_slot(slot);
  redis::ConnectionOptions co = o.cluster.connection;
  auto deadline = redis::Clock::now() + std::chrono::seconds(10);
  // SADD / SREM of a name in the channel's listener set.
  auto listeners = [&](const char* op, const char* name) {
    std::vector<Reply> replies;
    return store->client()
        .run(slot, {{op, redis_format::listeners_key(channel), name}}, &replies, redis::ClusterClient::Mode::kWrite)
        .is_ok();
  };
  // A listener registers its name, then subscribes (redis_store.h, Listeners).
  REQUIRE(listeners("SADD", "watcher"));
  auto sub = redis::Connection::open({"127.0.0.1", master}, co, deadline);
  REQUIRE(sub.ok());
  REQUIRE(sub.value()->send({{"SSUBSCRIBE", channel}}, deadline).is_ok());
  Reply confirm;
  REQUIRE(sub.value()->read(&confirm, deadline).is_ok());
  REQUIRE(confirm.elements.size() == 3);
  CHECK(confirm.elements[0].str == "ssubscribe");

  std::optional<RecordStamp> expected;
  for (uint64_t v = 1; v <= 5; ++v) {
    ShadowRecord next = store_contract::live(v);
    REQUIRE(store->compare_and_set_with_event({"bulb", ""}, expected, next, "event-" + std::to_string(v)).is_ok());
    // A stale write: refused, and no event.
    CHECK(store->compare_and_set_with_event({"bulb", ""}, expected, next, "stale").code() == Status::Code::kConflict);
    expected = stamp_of(next);
  }
  // A plain compare_and_set publishes nothing.
  REQUIRE(store->compare_and_set({"bulb", ""}, expected, store_contract::live(6)).is_ok());
  // An answer outside a write goes to the listener too.
  REQUIRE(store->publish_event("bulb", "answer").is_ok());
  // The listener's own writes do not come back to it.
  RedisStoreOptions own = o;
  own.listener_id = "watcher";
  auto watcher = cluster().open_store(own);
  REQUIRE(watcher->compare_and_set_with_event({"bulb", ""}, RecordStamp{6, false}, store_contract::live(7), "own")
              .is_ok());
  // The writer listening too does not silence the other listener...
  REQUIRE(listeners("SADD", "writer"));
  REQUIRE(store->compare_and_set_with_event({"bulb", ""}, RecordStamp{7, false}, store_contract::live(8), "event-8")
              .is_ok());
  // ...and once the listener has left, the writer alone hears nothing.
  REQUIRE(listeners("SREM", "watcher"));
  REQUIRE(store->compare_and_set_with_event({"bulb", ""}, RecordStamp{8, false}, store_contract::live(9), "unheard")
              .is_ok());
  // Answers outside a write go out whoever listens (publish_event).
  REQUIRE(store->publish_event("bulb", "answer 2").is_ok());

  for (std::string want : {"event-1", "event-2", "event-3", "event-4", "event-5", "answer", "event-8", "answer 2"}) {
    Reply m;
    REQUIRE(sub.value()->read(&m, deadline).is_ok());
    REQUIRE(m.elements.size() == 3);
    CHECK(m.elements[0].str == "smessage");
    CHECK(m.elements[1].str == channel);
    CHECK(m.elements[2].str == want);
  }
  Reply extra;
  Status none = sub.value()->read(&extra, redis::Clock::now() + std::chrono::milliseconds(300));
  CHECK(none.code() == Status::Code::kUnavailable);  // nothing else arrived
}

TEST_CASE("redis store: the firehose of a slot carries its things' events only while someone listens to it",
          "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  o.listener_id = "writer";
  auto store = cluster().open_store(o);
  const std::string channel = redis_format::event_channel(o.key_prefix, "lamp");
  const int slot = redis::key_slot(channel);
  const std::string firehose = redis_format::firehose_channel(o.key_prefix, slot);
  REQUIRE(redis::key_slot(redis_format::listeners_key(firehose)) == slot);
  REQUIRE(redis::key_slot(redis_format::listeners_key(channel)) == slot);
  auto deadline = redis::Clock::now() + std::chrono::seconds(10);
  auto sub = redis::Connection::open({"127.0.0.1", cluster().master_of_slot(slot)}, o.cluster.connection, deadline);
  REQUIRE(sub.ok());
  REQUIRE(sub.value()->send({{"SSUBSCRIBE", firehose}}, deadline).is_ok());
  Reply confirm;
  REQUIRE(sub.value()->read(&confirm, deadline).is_ok());
  // Subscribed but not registered: nobody is known to listen, nothing comes.
  REQUIRE(store->compare_and_set_with_event({"lamp", ""}, std::nullopt, store_contract::live(1), "unregistered")
              .is_ok());
  std::vector<Reply> replies;
  REQUIRE(store->client()
              .run(slot, {{"SADD", redis_format::listeners_key(firehose), "fire-watcher"}}, &replies,
                   redis::ClusterClient::Mode::kWrite)
              .is_ok());
  REQUIRE(store->compare_and_set_with_event({"lamp", ""}, RecordStamp{1, false}, store_contract::live(2), "v2")
              .is_ok());
  Reply m;
  REQUIRE(sub.value()->read(&m, deadline).is_ok());
  REQUIRE(m.elements.size() == 3);
  CHECK(m.elements[1].str == firehose);
  CHECK(m.elements[2].str == "v2");
  Reply extra;
  CHECK(sub.value()->read(&extra, redis::Clock::now() + std::chrono::milliseconds(300)).code() ==
        Status::Code::kUnavailable);
}

TEST_CASE("redis store: get_for_update may be stale, and a stale base is never written over", "[contract]") {
  // Two brokers on one cluster: A caches what it read and wrote, B writes.
  RedisStoreOptions o = cluster().store_options();
  auto a = cluster().open_store(o);
  auto b = cluster().open_store(o);
  const StoreKey k{"cached", ""};
  const std::string key = redis_format::shadow_key(o.key_prefix, k.thing, k.shadow);
  REQUIRE(a->compare_and_set(k, std::nullopt, store_contract::live(1, "{\"a\":1}")).is_ok());
  ShadowRecord r;
  REQUIRE(a->get_for_update(k, &r).is_ok());
  CHECK(r.version == 1);

  // B writes version 2: A's cached base is stale, and A's write on it is a conflict.
  REQUIRE(b->compare_and_set(k, RecordStamp{1, false}, store_contract::live(2, "{\"b\":2}")).is_ok());
  REQUIRE(a->get_for_update(k, &r).is_ok());
  CHECK(r.version == 1);
  CHECK(a->compare_and_set(k, RecordStamp{1, false}, store_contract::live(2, "{\"a\":2}")).is_conflict());
  // The conflict dropped the entry; get() reads and caches the truth.
  REQUIRE(a->get_for_update(k, &r).is_ok());
  CHECK(r.version == 2);
  CHECK(r.document == "{\"b\":2}");

  // A different record under the same stamp (what a failover that lost an
  // acknowledged write leaves: the version is handed out again) is a
  // conflict too: the script compares the whole cached record.
  REQUIRE(b->compare_and_set(k, RecordStamp{2, false}, store_contract::live(2, "{\"other\":2}")).is_ok());
  REQUIRE(a->get_for_update(k, &r).is_ok());
  CHECK(r.document == "{\"b\":2}");
  CHECK(a->compare_and_set(k, RecordStamp{2, false}, store_contract::live(3, "{\"a\":3}")).is_conflict());
  int master = cluster().master_of_slot(redis::key_slot(key));
  CHECK(redis_format::decode_record(cluster().command(master, {"GET", key}).str, &r).is_ok());
  CHECK(r.document == "{\"other\":2}");

  // Without a cache entry, the stamp alone decides, as before.
  RedisStoreOptions off = o;
  off.record_cache_entries = 0;
  auto c = cluster().open_store(off);
  REQUIRE(c->get_for_update(k, &r).is_ok());
  CHECK(r.document == "{\"other\":2}");
  CHECK(c->compare_and_set(k, RecordStamp{2, false}, store_contract::live(3, "{\"c\":3}")).is_ok());
  // A deleted record: get() forgets the entry, get_for_update reads not-found.
  REQUIRE(b->compare_and_set(k, RecordStamp{3, false}, store_contract::tombstone(4, 100)).is_ok());
  REQUIRE(cluster().command(master, {"DEL", key}).integer == 1);
  CHECK(a->get(k, &r).is_not_found());
  CHECK(a->get_for_update(k, &r).is_not_found());
}

TEST_CASE("redis store: a corrupt record is an error and is not overwritten", "[contract]") {
  RedisStoreOptions o = cluster().store_options();
  auto store = cluster().open_store(o);
  const std::string key = redis_format::shadow_key(o.key_prefix, "broken", "");
  int master = cluster().master_of_slot(redis::key_slot(key));
  REQUIRE(cluster().command(master, {"SET", key, "garbage"}).str == "OK");
  ShadowRecord r;
  Status g = store->get({"broken", ""}, &r);
  CHECK(g.code() == Status::Code::kIoError);
  CHECK_THAT(g.message(), Catch::Contains("short") && Catch::Contains(key));
  Status c = store->compare_and_set({"broken", ""}, std::nullopt, store_contract::live(1));
  CHECK(c.code() == Status::Code::kIoError);
  CHECK_THAT(c.message(), Catch::Contains("SHADOWCORRUPT"));
  CHECK(cluster().command(master, {"GET", key}).str == "garbage");
  // A different key type under the name is refused by Redis itself.
  const std::string other = redis_format::shadow_key(o.key_prefix, "typed", "");
  REQUIRE(cluster().command(cluster().master_of_slot(redis::key_slot(other)), {"LPUSH", other, "x"}).integer == 1);
  CHECK(store->get({"typed", ""}, &r).code() == Status::Code::kIoError);
  CHECK(store->compare_and_set({"typed", ""}, std::nullopt, store_contract::live(1)).code() ==
        Status::Code::kIoError);
  // Thing names that would break the hash tag are refused before any I/O.
  CHECK(store->compare_and_set({"a{b", ""}, std::nullopt, store_contract::live(1)).code() ==
        Status::Code::kInvalidArgument);
  std::vector<std::string> names;
  bool more = false;
  CHECK(store->list_named("a}b", "", 10, &names, &more).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("redis store: concurrent writes to a master share one pipeline and one WAIT", "[contract]") {
  auto store = cluster().open_store();
  constexpr int kThreads = 16, kWrites = 40;
  auto before = store->counters().batches;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      StoreKey key{"batch-" + std::to_string(t), ""};
      std::optional<RecordStamp> expected;
      for (uint64_t v = 1; v <= kWrites; ++v) {
        ShadowRecord next = store_contract::live(v, "{\"t\":" + std::to_string(t) + ",\"v\":" + std::to_string(v) + "}");
        if (!store->compare_and_set(key, expected, next).is_ok()) failures++;
        expected = stamp_of(next);
      }
      // A stale stamp in a batch is still a conflict, for this write only.
      if (store->compare_and_set(key, RecordStamp{1, false}, store_contract::live(kWrites + 1)).code() !=
          Status::Code::kConflict)
        failures++;
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  for (int t = 0; t < kThreads; ++t) {
    ShadowRecord out;
    REQUIRE(store->get({"batch-" + std::to_string(t), ""}, &out).is_ok());
    CHECK(out.version == kWrites);
    CHECK(out.document == "{\"t\":" + std::to_string(t) + ",\"v\":" + std::to_string(kWrites) + "}");
  }
  auto after = store->counters().batches;
  const uint64_t writes = after.writes - before.writes;
  INFO("batches " << after.batches - before.batches << ", writes " << writes << ", largest " << after.largest);
  CHECK(writes == kThreads * (kWrites + 1));  // every write went in a batch
  CHECK(after.fallbacks == before.fallbacks);
  // Sixteen writers on three masters: some of them met in a pipeline.
  CHECK(after.batches - before.batches < writes);
  CHECK(after.largest > 1);
}

TEST_CASE("redis store: masters that lost the script get it again", "[contract]") {
  auto store = cluster().open_store();
  store_contract::put_new(*store, {"script-1", ""}, store_contract::live(1));
  for (int port : cluster().ports())
    if (cluster().is_master(port)) REQUIRE(cluster().command(port, {"SCRIPT", "FLUSH"}).str == "OK");
  uint64_t loads = store->counters().script_loads;
  REQUIRE(store->compare_and_set({"script-1", ""}, RecordStamp{1, false}, store_contract::live(2)).is_ok());
  CHECK(store->counters().script_loads == loads + 1);
  // Loaded again: the next write uses EVALSHA.
  REQUIRE(store->compare_and_set({"script-1", ""}, RecordStamp{2, false}, store_contract::live(3)).is_ok());
  CHECK(store->counters().script_loads == loads + 1);
}

TEST_CASE("redis store: healthy cluster, and a clear error without one", "[contract]") {
  auto store = cluster().open_store();
  Status h = store->health();
  INFO(h.message());
  CHECK(h.is_ok());

  // A seed list where only one node is real still finds the whole cluster.
  RedisStoreOptions o = cluster().store_options();
  o.cluster.seeds = {{"127.0.0.1", 1}, {"127.0.0.1", cluster().ports()[4]}};
  auto partial = cluster().open_store(o);
  CHECK(partial->health().is_ok());
  store_contract::put_new(*partial, {"seeded", ""}, store_contract::live(1));

  o.cluster.seeds = {{"127.0.0.1", 1}};
  o.cluster.request_timeout = std::chrono::milliseconds(300);
  auto nowhere = cluster().open_store(o);
  Status bad = nowhere->health();
  CHECK(bad.code() == Status::Code::kUnavailable);
  CHECK_THAT(bad.message(), Catch::Contains("127.0.0.1:1") && Catch::Contains("refused"));
}

}  // namespace shadow
