// Cluster mode of the request pipeline (plugin/runtime/pipeline.h) and the
// per-shadow order of local answers and other brokers' events
// (plugin/runtime/shadow_order.h), without a broker or Redis: a slow store
// stands in for the network round trips.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "forwarding_store.h"
#include "plugin/runtime/pipeline.h"
#include "plugin/runtime/shadow_order.h"
#include "recording_output.h"
#include "shadow_core/json.h"

using namespace std::chrono_literals;
using shadow::Config;
using shadow::OutMessage;
using shadow::RecordStamp;
using shadow::Service;
using shadow::ShadowId;
using shadow::Status;
using shadow::WrittenStamps;
using shadow::runtime::ClusterOptions;
using shadow::runtime::Metrics;
using shadow::runtime::Pipeline;
using shadow::runtime::PipelineOptions;
using shadow::runtime::PublishQueue;
using shadow::runtime::RemoteEvent;
using shadow::runtime::ShadowOrder;

namespace {

OutMessage msg(std::string topic, std::string payload = "") { return OutMessage{std::move(topic), std::move(payload)}; }

WrittenStamps stamps(std::optional<uint64_t> before, uint64_t after, bool deleted = false) {
  WrittenStamps w;
  if (before) w.before = RecordStamp{*before, false};
  w.after = RecordStamp{after, deleted};
  return w;
}

RemoteEvent event(const std::string& thing, std::optional<uint64_t> before, uint64_t after) {
  return RemoteEvent{ShadowId{thing, ""}, stamps(before, after), {msg(thing + "/v" + std::to_string(after))}};
}

std::vector<std::string> drain(PublishQueue& q) {
  std::vector<std::string> topics;
  for (OutMessage& m : q.take_all().messages) topics.push_back(m.topic);
  return topics;
}

// A store whose every call takes `delay` and records which threads called
// it, how many calls ran at once, and the events handed to it.
class SlowStore final : public ForwardingStore {
 public:
  std::chrono::milliseconds delay{0};
  std::atomic<bool> fail{false};  // answer every call with "unavailable"

  Status get(const shadow::StoreKey& k, shadow::ShadowRecord* out) override {
    enter();
    Status s = fail ? Status::unavailable("down") : ForwardingStore::get(k, out);
    leave();
    return s;
  }
  Status compare_and_set_with_event(const shadow::StoreKey& k, const std::optional<RecordStamp>& expected,
                                    const shadow::ShadowRecord& next, std::string_view event,
                                    const std::vector<shadow::ItemChange>& items = {}) override {
    enter();
    {
      std::lock_guard<std::mutex> g(mu_);
      events.emplace_back(event);
    }
    Status s = fail ? Status::unavailable("down") : ForwardingStore::compare_and_set(k, expected, next, items);
    leave();
    return s;
  }
  Status compare_and_set(const shadow::StoreKey& k, const std::optional<RecordStamp>& expected,
                         const shadow::ShadowRecord& next, const std::vector<shadow::ItemChange>& items = {}) override {
    return compare_and_set_with_event(k, expected, next, "", items);
  }

  std::set<std::thread::id> callers() {
    std::lock_guard<std::mutex> g(mu_);
    return callers_;
  }
  int max_concurrent() const { return max_concurrent_; }
  std::vector<std::string> events;

 private:
  void enter() {
    {
      std::lock_guard<std::mutex> g(mu_);
      callers_.insert(std::this_thread::get_id());
    }
    int now = ++concurrent_;
    int seen = max_concurrent_;
    while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
  }
  void leave() { --concurrent_; }

  std::mutex mu_;
  std::set<std::thread::id> callers_;
  std::atomic<int> concurrent_{0}, max_concurrent_{0};
};

// Flushes until `out` holds at least `n` messages (bounded: 10 s).
void flush_until(Pipeline& p, RecordingOutput& out, size_t n) {
  for (int i = 0; i < 10000 && out.messages.size() < n; i++) {
    p.flush(out);
    if (out.messages.size() < n) std::this_thread::sleep_for(1ms);
  }
  REQUIRE(out.messages.size() >= n);
}

int64_t version_of(const std::string& payload) {
  shadow::json::Document doc;
  REQUIRE(shadow::json::parse(payload, &doc));
  const shadow::json::Value* v = shadow::json::find_last(doc, "version");
  REQUIRE(v != nullptr);
  return v->GetInt64();
}

PipelineOptions cluster_options(int workers, std::function<void(const ShadowId&, const std::vector<OutMessage>&)> share = {}) {
  PipelineOptions o;
  ClusterOptions c;
  c.workers = workers;
  c.share_replies = std::move(share);
  o.cluster = c;
  return o;
}

}  // namespace

// --- ShadowOrder ------------------------------------------------------------------

TEST_CASE("shadow order: other brokers' events in version order, repeats dropped, gaps published",
          "[cluster][order]") {
  PublishQueue q;
  ShadowOrder order(q, nullptr);
  order.remote(event("t", std::nullopt, 1));
  order.remote(event("t", 1, 2));
  order.remote(event("t", 1, 2));  // a repeat
  order.remote(event("t", 0, 1));  // older: a repeat too
  order.remote(event("t", 4, 5));  // versions 3 and 4 were lost
  order.remote(event("t", 5, 6));
  CHECK(drain(q) == std::vector<std::string>{"t/v1", "t/v2", "t/v5", "t/v6"});
  ShadowOrder::Counters c = order.counters();
  CHECK(c.published == 4);
  CHECK(c.duplicates == 2);
  CHECK(c.gaps == 1);

  // After a reset (the subscription was re-established, possibly on a
  // promoted replica that lost writes), any version goes out.
  order.reset([](std::string_view thing) { return thing == "t"; });
  order.remote(event("t", 2, 3));
  CHECK(drain(q) == std::vector<std::string>{"t/v3"});
  // A shadow created from nothing (its tombstone expired) starts again at 1.
  order.remote(event("t", std::nullopt, 1));
  CHECK(drain(q) == std::vector<std::string>{"t/v1"});
  // A delete at the same version follows the live record.
  RemoteEvent del{ShadowId{"t", ""}, stamps(1, 1, true), {msg("t/deleted")}};
  order.remote(del);
  CHECK(drain(q) == std::vector<std::string>{"t/deleted"});
}

TEST_CASE("shadow order: events of other brokers wait behind this broker's request on the shadow",
          "[cluster][order]") {
  PublishQueue q;
  ShadowOrder order(q, nullptr);
  ShadowId id{"t", ""};
  order.remote(event("t", std::nullopt, 1));
  REQUIRE(drain(q).size() == 1);

  // Our request read v2 (written by another broker, whose event is late)
  // and writes v3; meanwhile another broker writes v4.
  order.begin_local(id);
  order.remote(event("t", 1, 2));
  order.remote(event("t", 3, 4));
  order.remote(RemoteEvent{ShadowId{"t", ""}, std::nullopt, {msg("t/get-accepted")}});
  order.remote(event("other", std::nullopt, 7));  // another thing: not held
  CHECK(drain(q) == std::vector<std::string>{"other/v7"});
  order.end_local(id, stamps(2, 3), {msg("t/accepted-v3"), msg("t/documents-v3")});
  CHECK(drain(q) ==
        std::vector<std::string>{"t/v2", "t/get-accepted", "t/accepted-v3", "t/documents-v3", "t/v4"});
  CHECK(order.counters().held == 3);

  // A request that wrote nothing (a get) publishes its answer, then what was held.
  order.begin_local(id);
  order.remote(event("t", 4, 5));
  order.end_local(id, std::nullopt, {msg("t/get")});
  CHECK(drain(q) == std::vector<std::string>{"t/get", "t/v5"});

  // Our own write is what the next event must follow.
  order.begin_local(id);
  order.end_local(id, stamps(5, 6), {msg("t/accepted-v6")});
  order.remote(event("t", 5, 6));  // cannot happen (versions are unique) unless replayed: dropped
  order.remote(event("t", 6, 7));
  CHECK(drain(q) == std::vector<std::string>{"t/accepted-v6", "t/v7"});
}

TEST_CASE("shadow order: this broker's answer waits for the late event of the write it followed",
          "[cluster][order]") {
  PublishQueue q;
  ShadowOrder order(q, nullptr, 60s);
  order.set_listening([](std::string_view thing) { return thing == "t"; });
  ShadowId id{"t", ""};
  order.remote(event("t", std::nullopt, 1));
  REQUIRE(drain(q).size() == 1);

  // Another broker wrote v2; our write of v3 was confirmed before v2's event came.
  order.begin_local(id);
  order.end_local(id, stamps(2, 3), {msg("t/accepted-v3")});
  CHECK(drain(q).empty());
  order.remote(event("t", 1, 2));
  CHECK(drain(q) == std::vector<std::string>{"t/v2", "t/accepted-v3"});
  order.remote(event("t", 3, 4));
  CHECK(drain(q) == std::vector<std::string>{"t/v4"});
  CHECK(order.counters().waited == 1);
  CHECK(order.counters().gaps == 0);

  // The event of v5 is lost: the answer of v6 goes out with the next event (v7), a gap.
  order.begin_local(id);
  order.end_local(id, stamps(5, 6), {msg("t/accepted-v6")});
  order.remote(event("t", 6, 7));
  CHECK(drain(q) == std::vector<std::string>{"t/accepted-v6", "t/v7"});
  CHECK(order.counters().gaps == 1);

  // ...or when the wait runs out (no later event).
  order.begin_local(id);
  order.end_local(id, stamps(8, 9), {msg("t/accepted-v9")});
  order.expire(std::chrono::steady_clock::now());
  CHECK(drain(q).empty());
  order.expire(std::chrono::steady_clock::now() + 61s);
  CHECK(drain(q) == std::vector<std::string>{"t/accepted-v9"});
  CHECK(order.counters().wait_expired == 1);

  // A thing this broker does not listen to never waits.
  ShadowId other{"u", ""};
  order.begin_local(other);
  order.end_local(other, stamps(4, 5), {msg("u/accepted-v5")});
  CHECK(drain(q) == std::vector<std::string>{"u/accepted-v5"});
}

TEST_CASE("shadow order: shadows nobody here listens to keep no state", "[cluster][order]") {
  PublishQueue q;
  ShadowOrder order(q, nullptr);
  for (int i = 0; i < 100; i++) {
    ShadowId id{"t" + std::to_string(i), ""};
    order.begin_local(id);
    order.end_local(id, stamps(std::nullopt, 1), {msg("a")});
  }
  CHECK(order.tracked() == 0);
  order.remote(event("x", std::nullopt, 1));
  CHECK(order.tracked() == 1);
  CHECK(drain(q).size() == 101);
}

// --- the pipeline in cluster mode ------------------------------------------------

TEST_CASE("cluster pipeline: MQTT requests run on workers, never on the broker thread", "[cluster][pipeline]") {
  SlowStore store;
  store.delay = 5ms;
  Service service(Config{}, store);
  Metrics metrics;
  Pipeline p(service, metrics, cluster_options(4));
  RecordingOutput out;

  const std::string topic = "$aws/things/lamp/shadow/update";
  for (int i = 1; i <= 10; i++) {
    REQUIRE(p.mqtt_publish(topic, R"({"state":{"reported":{"n":)" + std::to_string(i) + "}}}", 1, out));
  }
  // mqtt_publish only queued them: nothing could be answered yet without a
  // store round trip.
  CHECK(out.messages.empty());
  // accepted + documents per update (no delta: nothing desired), both topic forms for documents.
  flush_until(p, out, 30);
  CHECK(store.callers().count(std::this_thread::get_id()) == 0);

  // One shadow: answered in arrival order, versions 1..10.
  std::vector<int64_t> versions;
  for (const OutMessage& m : out.messages)
    if (m.topic == topic + "/accepted") versions.push_back(version_of(m.payload));
  CHECK(versions == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(metrics.render({}).find(R"(shadow_requests_total{channel="mqtt",operation="update",code="200"} 10)") !=
        std::string::npos);
}

TEST_CASE("cluster pipeline: different shadows are served in parallel", "[cluster][pipeline]") {
  SlowStore store;
  store.delay = 20ms;
  Service service(Config{}, store);
  Metrics metrics;
  Pipeline p(service, metrics, cluster_options(8));
  RecordingOutput out;
  for (int i = 0; i < 16; i++) {
    REQUIRE(p.mqtt_publish("t" + std::to_string(i) + "/shadow/update", R"({"state":{"reported":{"a":1}}})", 1, out));
  }
  flush_until(p, out, 16 * 3);
  CHECK(store.max_concurrent() > 1);
}

TEST_CASE("cluster pipeline: a full worker queue answers 503 at once", "[cluster][pipeline]") {
  // A store that blocks the first call until released.
  struct BlockingStore final : ForwardingStore {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, released = false;
    Status get(const shadow::StoreKey& k, shadow::ShadowRecord* out) override {
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait_for(lock, 10s, [&] { return released; });
      return ForwardingStore::get(k, out);
    }
  } store;
  Service service(Config{}, store);
  Metrics metrics;
  PipelineOptions o = cluster_options(1);
  o.cluster->worker_queue_limit = 2;
  Pipeline p(service, metrics, o);
  RecordingOutput out;
  const std::string topic = "$aws/things/t/shadow/get";
  REQUIRE(p.mqtt_publish(topic, R"({"clientToken":"r1"})", 1, out));
  {
    std::unique_lock<std::mutex> lock(store.mu);
    REQUIRE(store.cv.wait_for(lock, 10s, [&] { return store.entered; }));
  }
  REQUIRE(p.mqtt_publish(topic, R"({"clientToken":"r2"})", 1, out));
  REQUIRE(p.mqtt_publish(topic, R"({"clientToken":"r3"})", 1, out));
  CHECK(out.messages.empty());
  REQUIRE(p.mqtt_publish(topic, R"({"clientToken":"r4"})", 1, out));
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0].topic == topic + "/rejected");
  CHECK(out.messages[0].payload.find(R"("code":503)") != std::string::npos);
  CHECK(out.messages[0].payload.find(R"("clientToken":"r4")") != std::string::npos);
  {
    std::lock_guard<std::mutex> g(store.mu);
    store.released = true;
    store.cv.notify_all();
  }
  flush_until(p, out, 4);  // r1..r3: 404 (no shadow yet)
  CHECK(out.messages[1].payload.find("r1") != std::string::npos);
  CHECK(out.messages[3].payload.find("r3") != std::string::npos);
}

TEST_CASE("cluster pipeline: writes carry their messages to the other brokers, replies are shared",
          "[cluster][pipeline]") {
  SlowStore store;
  Service service(Config{}, store);
  service.set_commit_event_encoder([](const Service::Commit& c) {
    std::string e = c.id.thing + "@" + std::to_string(c.stamps.after.version) + (c.stamps.after.deleted ? "d" : "");
    for (const OutMessage& m : c.messages) e += " " + m.topic;
    return e;
  });
  std::mutex mu;
  std::vector<std::string> shared;
  Metrics metrics;
  Pipeline p(service, metrics, cluster_options(2, [&](const ShadowId& id, const std::vector<OutMessage>& ms) {
               std::lock_guard<std::mutex> g(mu);
               for (const OutMessage& m : ms) shared.push_back(id.thing + " " + m.topic);
             }));
  RecordingOutput out;
  REQUIRE(p.mqtt_publish("bulb/shadow/update", R"({"state":{"desired":{"on":true}}})", 1, out));
  flush_until(p, out, 5);  // accepted, delta x2, documents x2
  REQUIRE(p.mqtt_publish("bulb/shadow/get", "", 1, out));
  flush_until(p, out, 6);
  REQUIRE(p.mqtt_publish("bulb/shadow/delete", "", 1, out));
  flush_until(p, out, 7);
  REQUIRE(p.mqtt_publish("bulb/shadow/update", "not json", 1, out));
  flush_until(p, out, 8);

  REQUIRE(store.events.size() == 2);
  CHECK(store.events[0] ==
        "bulb@1 bulb/shadow/update/accepted $aws/things/bulb/shadow/update/delta bulb/shadow/update/delta "
        "$aws/things/bulb/shadow/update/documents bulb/shadow/update/documents");
  CHECK(store.events[1] == "bulb@2d bulb/shadow/delete/accepted");
  std::lock_guard<std::mutex> g(mu);
  CHECK(shared == std::vector<std::string>{"bulb bulb/shadow/get/accepted", "bulb bulb/shadow/update/rejected"});
}

TEST_CASE("cluster pipeline: an unavailable store is a 500, not shared", "[cluster][pipeline]") {
  SlowStore store;
  store.fail = true;
  Service service(Config{}, store);
  std::atomic<int> shared{0};
  Metrics metrics;
  Pipeline p(service, metrics, cluster_options(1, [&](const ShadowId&, const std::vector<OutMessage>&) { shared++; }));
  RecordingOutput out;
  REQUIRE(p.mqtt_publish("t/shadow/update", R"({"state":{"reported":{"a":1}},"clientToken":"x"})", 1, out));
  flush_until(p, out, 1);
  CHECK(out.messages[0].topic == "t/shadow/update/rejected");
  CHECK(out.messages[0].payload.find(R"("code":500)") != std::string::npos);
  CHECK(shared == 0);
  bool logged = false;
  for (const auto& [level, line] : out.logs) logged |= line.find("answered with 500") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("cluster pipeline: REST writes and other brokers' events reach the broker thread in order",
          "[cluster][pipeline]") {
  SlowStore store;
  Config config;
  config.event_topics = shadow::EventTopics::kAws;
  Service service(config, store);
  Metrics metrics;
  Pipeline p(service, metrics, cluster_options(1));
  RecordingOutput out;

  shadow::ServiceRequest r;
  r.channel = shadow::Channel::kRest;
  r.op = shadow::Operation::kUpdate;
  r.id = {"door", ""};
  r.payload = R"({"state":{"reported":{"open":false}}})";
  r.now = 5;
  CHECK(p.rest_request(r).status == 200);
  // Another broker wrote version 2.
  p.remote_event(RemoteEvent{ShadowId{"door", ""}, stamps(1, 2), {msg("$aws/things/door/shadow/update/accepted", "v2")}});
  p.flush(out);
  CHECK(out.topics() == std::vector<std::string>{"$aws/things/door/shadow/update/accepted",
                                                 "$aws/things/door/shadow/update/documents",
                                                 "$aws/things/door/shadow/update/accepted"});
  CHECK(out.messages.back().payload == "v2");
}
