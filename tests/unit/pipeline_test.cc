// The request pipeline (plugin/runtime/pipeline.h) without a broker: what an
// MQTT request publishes and in which order, the rate limit on both channels,
// REST events reaching the broker thread before a later MQTT request's
// reply, and durable mode on the MQTT side (held replies, the 500 after a
// failed fsync).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/pipeline.h"
#include "plugin/runtime/rate_limiter.h"
#include "fake_disk.h"
#include "forwarding_store.h"
#include "recording_output.h"
#include "shadow_core/json.h"
#include "store/memory_store.h"

using namespace std::chrono_literals;
using shadow::Channel;
using shadow::Config;
using shadow::MemoryStore;
using shadow::Operation;
using shadow::OutMessage;
using shadow::Service;
using shadow::ServiceRequest;
using shadow::ServiceResponse;
using shadow::runtime::DurableMode;
using shadow::runtime::Metrics;
using shadow::runtime::Pipeline;
using shadow::runtime::PipelineOptions;
using shadow::runtime::RateLimiter;

namespace {

ServiceRequest rest(Operation op, std::string thing, std::string_view body = {}) {
  ServiceRequest r;
  r.channel = Channel::kRest;
  r.op = op;
  r.id = {std::move(thing), ""};
  r.payload = body;
  r.now = 100;
  return r;
}

std::string field(const std::string& json, const char* key) {
  shadow::json::Document doc;
  REQUIRE(shadow::json::parse(json, &doc));
  REQUIRE(doc.IsObject());
  const shadow::json::Value* v = shadow::json::find_last(doc, key);
  REQUIRE(v != nullptr);
  if (v->IsString()) return v->GetString();
  return std::to_string(v->GetInt64());
}

// A Wakeup that counts.
struct CountingWakeup final : shadow::runtime::Wakeup {
  std::atomic<int> requests{0}, acks{0};
  void request() override { requests++; }
  void acknowledge() override { acks++; }
};

}  // namespace

TEST_CASE("pipeline: an MQTT update publishes its reply, then its events", "[pipeline]") {
  MemoryStore store;
  Config config;
  config.event_topics = shadow::EventTopics::kAws;
  Service service(config, store);
  Metrics metrics;
  Pipeline p(service, metrics, {});
  RecordingOutput out;

  CHECK_FALSE(p.mqtt_publish("sensors/t1", "{}", 1, out));  // not a request: untouched
  CHECK(p.mqtt_publish("$aws/things/t1/shadow/update", R"({"state":{"desired":{"a":1}}})", 1, out));
  CHECK(out.topics() == std::vector<std::string>{"$aws/things/t1/shadow/update/accepted",
                                                 "$aws/things/t1/shadow/update/delta",
                                                 "$aws/things/t1/shadow/update/documents"});
  CHECK(metrics.render({}).find(R"(shadow_requests_total{channel="mqtt",operation="update",code="200"} 1)") !=
        std::string::npos);
}

TEST_CASE("pipeline: over the rate limit, a 429 on /rejected with the token, and nothing else",
          "[pipeline]") {
  MemoryStore store;
  Service service(Config{}, store);
  Metrics metrics;
  RateLimiter limiter(1);  // a burst of one request per thing
  Pipeline p(service, metrics, PipelineOptions{&limiter, nullptr, nullptr});
  RecordingOutput out;

  REQUIRE(p.mqtt_publish("$aws/things/t1/shadow/update", R"({"state":{"reported":{"a":1}}})", 1, out));
  out.messages.clear();
  REQUIRE(p.mqtt_publish("$aws/things/t1/shadow/update", R"({"state":{"reported":{"a":2}},"clientToken":"c9"})",
                         1, out));
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0].topic == "$aws/things/t1/shadow/update/rejected");
  CHECK(out.messages[0].payload == R"({"code":429,"message":"Too Many Requests","clientToken":"c9"})");
  // Another thing has its own bucket.
  out.messages.clear();
  REQUIRE(p.mqtt_publish("t2/shadow/get", "", 1, out));
  CHECK(out.topics() == std::vector<std::string>{"t2/shadow/get/rejected"});  // 404: no shadow yet

  // REST shares the bucket of the thing: refused, nothing handed over.
  ServiceResponse r = p.rest_request(rest(Operation::kUpdate, "t1", R"({"state":{"reported":{"a":3}}})"));
  CHECK(r.status == 429);
  CHECK(r.body == R"({"code":429,"message":"Too Many Requests"})");
  CHECK(p.rest_publish(OutMessage{"$aws/things/t1/shadow/update", R"({"state":{}})", 1, false}, 1).status == 429);
  RecordingOutput flushed;
  p.flush(flushed);
  CHECK(flushed.empty());
  std::string text = metrics.render({});
  CHECK(text.find(R"(shadow_requests_total{channel="mqtt",operation="update",code="429"} 1)") != std::string::npos);
  CHECK(text.find(R"(shadow_requests_total{channel="rest",operation="update",code="429"} 1)") != std::string::npos);
  CHECK(text.find(R"(shadow_requests_total{channel="rest",operation="publish",code="429"} 1)") != std::string::npos);
}

TEST_CASE("pipeline: REST events leave before the reply to a later MQTT request", "[pipeline]") {
  MemoryStore store;
  Config config;
  config.event_topics = shadow::EventTopics::kAws;
  Service service(config, store);
  Metrics metrics;
  CountingWakeup wakeup;
  Pipeline p(service, metrics, PipelineOptions{nullptr, nullptr, &wakeup});

  REQUIRE(p.rest_request(rest(Operation::kUpdate, "t1", R"({"state":{"reported":{"a":1}}})")).ok());
  CHECK(wakeup.requests > 0);  // the broker thread is asked to come
  CHECK(p.backlog() > 0);
  RecordingOutput out;
  REQUIRE(p.mqtt_publish("$aws/things/t1/shadow/update", R"({"state":{"reported":{"a":2}}})", 1, out));
  std::vector<std::string> versions;
  for (const OutMessage& m : out.messages)
    if (m.topic.ends_with("/update/accepted")) versions.push_back(field(m.payload, "version"));
  CHECK(versions == std::vector<std::string>{"1", "2"});  // REST's v1 first, then MQTT's v2
  CHECK(wakeup.acks > 0);
  CHECK(p.backlog() == 0);
}

TEST_CASE("pipeline: a REST Publish to a shadow topic is forwarded, then answered", "[pipeline]") {
  MemoryStore store;
  Config config;
  config.event_topics = shadow::EventTopics::kAws;
  Service service(config, store);
  Metrics metrics;
  Pipeline p(service, metrics, {});
  CHECK(p.rest_publish(OutMessage{"$aws/things/t1/shadow/update", R"({"state":{"reported":{"a":1}}})", 1, true},
                       1)
            .ok());
  CHECK(p.rest_publish(OutMessage{"plain/topic", "x", 0, true}, 1).ok());
  RecordingOutput out;
  p.flush(out);
  REQUIRE(out.messages.size() == 4);
  CHECK(out.messages[0].topic == "$aws/things/t1/shadow/update");
  CHECK_FALSE(out.messages[0].retain);  // a request is never kept as retained
  CHECK(out.messages[1].topic == "$aws/things/t1/shadow/update/accepted");
  CHECK(out.messages[2].topic == "$aws/things/t1/shadow/update/documents");
  CHECK(out.messages[3].topic == "plain/topic");
  CHECK(out.messages[3].retain);  // any other message keeps its flags
  CHECK(out.messages[3].qos == 0);
}

namespace {

// A store whose writes are numbered, and a disk whose fsync is held or fails.
struct DurableFixture {
  struct Numbered final : ForwardingStore {
    std::atomic<uint64_t> seq{0};
    shadow::Status compare_and_set(const shadow::StoreKey& k, const std::optional<shadow::RecordStamp>& e,
                                   const shadow::ShadowRecord& n,
                                   const std::vector<shadow::ItemChange>& items = {}) override {
      shadow::Status st = inner_.compare_and_set(k, e, n, items);
      if (st.is_ok()) seq++;
      return st;
    }
  } store;
  FakeDisk disk;
  Service service{Config{}, store};
  Metrics metrics;
  DurableMode durable{[this] { return store.seq.load(); }, [this] { return disk.sync(); }, [] {}, nullptr};
  Pipeline pipeline{service, metrics, PipelineOptions{nullptr, &durable, nullptr}};

  // Waits (bounded) until the write-ahead log is durable up to `seq`.
  bool durable_up_to(uint64_t seq) {
    return durable.await(seq, 10s) == shadow::runtime::GroupCommitter::Wait::kDurable;
  }
  ~DurableFixture() {
    disk.hold(false);
    durable.stop();
  }
};

}  // namespace

TEST_CASE("pipeline, durable: an MQTT reply waits for the fsync that covers its write",
          "[pipeline][durable]") {
  DurableFixture f;
  f.disk.hold(true);
  RecordingOutput out;
  REQUIRE(f.pipeline.mqtt_publish("$aws/things/t1/shadow/update", R"({"state":{"reported":{"a":1}}})", 1, out));
  CHECK(out.messages.empty());  // held back: the write is not durable yet
  f.pipeline.flush(out);
  CHECK(out.messages.empty());
  CHECK(f.pipeline.backlog() > 0);
  f.disk.hold(false);
  REQUIRE(f.durable_up_to(1));
  f.pipeline.flush(out);
  REQUIRE_FALSE(out.messages.empty());
  CHECK(out.messages[0].topic == "$aws/things/t1/shadow/update/accepted");
  CHECK(f.pipeline.backlog() == 0);

  // A read of what is already durable, with nothing held before it, goes out at once.
  out.messages.clear();
  REQUIRE(f.pipeline.mqtt_publish("$aws/things/t1/shadow/get", "", 2, out));
  CHECK(out.topics() == std::vector<std::string>{"$aws/things/t1/shadow/get/accepted"});
}

TEST_CASE("pipeline, durable: after a failed fsync the held request gets a 500 with its token",
          "[pipeline][durable]") {
  DurableFixture f;
  f.disk.hold(true);
  f.disk.fail_with("IO error: fsync");
  RecordingOutput out;
  REQUIRE(f.pipeline.mqtt_publish("t1/shadow/name/n1/update",
                                  R"({"state":{"reported":{"a":1}},"clientToken":"tok-7"})", 1, out));
  CHECK(out.messages.empty());
  f.disk.hold(false);
  REQUIRE(f.durable.await(1, 10s) == shadow::runtime::GroupCommitter::Wait::kFailed);
  f.pipeline.flush(out);
  // The reply and its events are replaced by one 500 on the request's /rejected topic.
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0].topic == "t1/shadow/name/n1/update/rejected");
  CHECK(out.messages[0].payload == R"({"code":500,"message":"Internal service failure","clientToken":"tok-7"})");
  REQUIRE_FALSE(out.logs.empty());
  CHECK(out.logs[0].second.find("fsync of the write-ahead log failed (IO error: fsync)") != std::string::npos);
  // Sticky: a later request is answered 500 at once.
  out.messages.clear();
  REQUIRE(f.pipeline.mqtt_publish("t1/shadow/get", "", 2, out));
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0].topic == "t1/shadow/get/rejected");
  CHECK(field(out.messages[0].payload, "code") == "500");
  // Every dropped publication is counted.
  CHECK(f.metrics.render({}).find("shadow_mqtt_publish_failures_total 0") == std::string::npos);
}

TEST_CASE("pipeline: a publication the broker refuses is counted", "[pipeline]") {
  MemoryStore store;
  Service service(Config{}, store);
  Metrics metrics;
  Pipeline p(service, metrics, {});
  RecordingOutput out;
  out.refuse = true;
  REQUIRE(p.mqtt_publish("$aws/things/t1/shadow/get", "", 1, out));
  CHECK(metrics.render({}).find("shadow_mqtt_publish_failures_total 1") != std::string::npos);
}
