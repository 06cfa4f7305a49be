// Service behaviour beyond the test vectors (tests/vectors): REST channel, listing,
// tombstone retention, configuration switches, store failures, concurrency.
#include <catch2/catch.hpp>

#include <mutex>
#include <thread>
#include <vector>

#include "shadow_core/service.h"
#include "forwarding_store.h"
#include "store/memory_store.h"

using namespace shadow;

namespace {

ServiceRequest rest(Operation op, std::string thing, std::string shadow, std::string_view body, int64_t now) {
  ServiceRequest r;
  r.channel = Channel::kRest;
  r.op = op;
  r.id = {std::move(thing), std::move(shadow)};
  r.payload = body;
  r.now = now;
  return r;
}

std::vector<std::string> topics(const ServiceResponse& r) {
  std::vector<std::string> out;
  for (const auto& m : r.messages) out.push_back(m.topic);
  return out;
}

}  // namespace

TEST_CASE("REST update answers in the body and publishes the events", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  auto r = s.handle(rest(Operation::kUpdate, "dev1", "", R"({"state":{"desired":{"x":1}},"clientToken":"r1"})", 50));
  CHECK(r.status == 200);
  CHECK(r.body ==
        R"({"state":{"desired":{"x":1}},"metadata":{"desired":{"x":{"timestamp":50}}},"version":1,"timestamp":50,"clientToken":"r1"})");
  CHECK(topics(r) == std::vector<std::string>{
                         "$aws/things/dev1/shadow/update/accepted", "dev1/shadow/update/accepted",
                         "$aws/things/dev1/shadow/update/delta", "dev1/shadow/update/delta",
                         "$aws/things/dev1/shadow/update/documents", "dev1/shadow/update/documents"});

  // A REST error publishes nothing.
  auto bad = s.handle(rest(Operation::kUpdate, "dev1", "", R"({"state":{"desired":{"x":2}},"version":9})", 51));
  CHECK(bad.status == 409);
  CHECK(bad.body == R"({"code":409,"message":"Version conflict"})");
  CHECK(bad.messages.empty());

  // REST get: no clientToken even if the body had one, and no MQTT message.
  auto got = s.handle(rest(Operation::kGet, "dev1", "", R"({"clientToken":"zz"})", 52));
  CHECK(got.status == 200);
  CHECK(got.messages.empty());
  CHECK(got.body.find("clientToken") == std::string::npos);

  auto missing = s.handle(rest(Operation::kGet, "dev1", "cfg", "", 53));
  CHECK(missing.status == 404);
  CHECK(missing.body == R"({"code":404,"message":"No shadow exists with name: 'dev1~cfg'"})");

  auto del = s.handle(rest(Operation::kDelete, "dev1", "", "", 54));
  CHECK(del.status == 200);
  CHECK(del.body == R"({"version":1,"timestamp":54})");
  CHECK(topics(del) ==
        std::vector<std::string>{"$aws/things/dev1/shadow/delete/accepted", "dev1/shadow/delete/accepted"});
}

TEST_CASE("event topic forms follow the configuration", "[service]") {
  MemoryStore store;
  Config c;
  c.event_topics = EventTopics::kAws;
  Service s(c, store);
  auto r = s.handle_mqtt("dev1/shadow/update", R"({"state":{"desired":{"v":1}}})", 10);
  REQUIRE(r);
  CHECK(topics(*r) == std::vector<std::string>{"dev1/shadow/update/accepted", "$aws/things/dev1/shadow/update/delta",
                                               "$aws/things/dev1/shadow/update/documents"});
  Config off;
  off.short_topics = false;
  Service aws_only(off, store);
  CHECK_FALSE(aws_only.handle_mqtt("dev1/shadow/update", "{}", 11));
}

TEST_CASE("invalid names are rejected on the computed topic", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  auto r = s.handle_mqtt("$aws/things/a.b/shadow/update", R"({"state":{},"clientToken":"n1"})", 10);
  REQUIRE(r);
  REQUIRE(r->messages.size() == 1);
  CHECK(r->messages[0].topic == "$aws/things/a.b/shadow/update/rejected");
  CHECK(r->messages[0].payload ==
        R"({"code":400,"message":"ThingName must match pattern [a-zA-Z0-9:_-]+","clientToken":"n1"})");
  CHECK(store.size() == 0);

  // In the short form such a topic is an application's own: no answer.
  CHECK_FALSE(s.handle_mqtt("site.a/shadow/update", R"({"state":{}})", 11));
  CHECK_FALSE(s.handle_mqtt("dev1/shadow/name/a.b/get", "", 11));
}

TEST_CASE("tombstones continue the version until retention expires", "[service]") {
  MemoryStore store;
  Config c;
  c.tombstone_retention_s = 100;
  Service s(c, store);
  REQUIRE(s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":1}}})", 1000)->ok());
  REQUIRE(s.handle_mqtt("$aws/things/t/shadow/delete", "", 1001)->ok());
  // Within retention: deleted at 1 -> tombstone 2 -> re-created at 3.
  auto again = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":2}}})", 1050);
  CHECK(again->body.find("\"version\":3") != std::string::npos);
  REQUIRE(s.handle_mqtt("$aws/things/t/shadow/delete", "", 1060)->ok());
  // After retention the counter restarts.
  auto fresh = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":3}}})", 1160);
  CHECK(fresh->body.find("\"version\":1,") != std::string::npos);
}

TEST_CASE("without tombstone bump a re-created shadow continues at v+1", "[service]") {
  MemoryStore store;
  Config c;
  c.tombstone_bumps_version = false;
  Service s(c, store);
  s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":1}}})", 1);
  s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":2}}})", 2);
  s.handle_mqtt("$aws/things/t/shadow/delete", "", 3);
  auto r = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":3}},"version":2})", 4);
  CHECK(r->status == 200);
  CHECK(r->body.find("\"version\":3") != std::string::npos);
}

TEST_CASE("delta_on_unchanged=false suppresses a delta the update did not change", "[service]") {
  MemoryStore store;
  Config c;
  c.delta_on_unchanged = false;
  Service s(c, store);
  auto first = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"desired":{"a":1}}})", 1);
  CHECK(topics(*first).size() == 5);  // accepted, delta and documents on both forms
  auto unrelated = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"b":1}}})", 2);
  for (const auto& t : topics(*unrelated)) CHECK(t.find("/delta") == std::string::npos);
  auto changed = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"desired":{"a":2}}})", 3);
  bool has_delta = false;
  for (const auto& t : topics(*changed)) has_delta |= t.find("/delta") != std::string::npos;
  CHECK(has_delta);
}

TEST_CASE("a store failure gives 500 and changes nothing", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  REQUIRE(s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":1}}})", 1)->ok());
  store.fail_next_writes(1);
  auto r = s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"a":2}},"clientToken":"f"})", 2);
  CHECK(r->status == 500);
  CHECK(r->body == R"({"code":500,"message":"Internal service failure","clientToken":"f"})");
  auto got = s.handle_mqtt("$aws/things/t/shadow/get", "", 3);
  CHECK(got->body.find("\"a\":1") != std::string::npos);
  CHECK(got->body.find("\"version\":1,") != std::string::npos);
}

TEST_CASE("named shadows are listed in pages with an opaque token", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  for (const char* name : {"e", "b", "d", "a", "c"})
    REQUIRE(s.handle_mqtt(std::string("$aws/things/t/shadow/name/") + name + "/update", R"({"state":{}})", 1)->ok());
  s.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{}})", 1);  // classic: never listed
  s.handle_mqtt("$aws/things/t/shadow/name/c/delete", "", 2);          // deleted: not listed
  s.handle_mqtt("$aws/things/t2/shadow/name/zz/update", R"({"state":{}})", 1);

  auto p1 = s.list_named_shadows("t", "2", std::nullopt, 7);
  REQUIRE(p1.status == 200);
  auto pos = p1.body.find("\"nextToken\":\"");
  REQUIRE(pos != std::string::npos);
  CHECK(p1.body.starts_with(R"({"results":["a","b"],"nextToken":")"));
  std::string token = p1.body.substr(pos + 13, p1.body.find('"', pos + 13) - pos - 13);
  auto p2 = s.list_named_shadows("t", "2", token, 8);
  CHECK(p2.body == R"({"results":["d","e"],"timestamp":8})");
  CHECK(s.list_named_shadows("nobody", std::nullopt, std::nullopt, 9).body == R"({"results":[],"timestamp":9})");
  CHECK(s.list_named_shadows("t", "0", std::nullopt, 9).status == 400);
  CHECK(s.list_named_shadows("t", "101", std::nullopt, 9).status == 400);
  CHECK(s.list_named_shadows("t", "x", std::nullopt, 9).status == 400);
  CHECK(s.list_named_shadows("t", std::nullopt, std::string_view("!!"), 9).status == 400);
  CHECK(s.list_named_shadows("bad.name", std::nullopt, std::nullopt, 9).status == 400);
}

TEST_CASE("concurrent writers of one shadow never lose an update", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  constexpr int kThreads = 4, kEach = 250;
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string body = R"({"state":{"reported":{"w)" + std::to_string(t) + R"(":)" + std::to_string(i) + "}}}";
        if (s.handle_mqtt("$aws/things/c/shadow/update", body, 1)->ok()) ++accepted;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(accepted == kThreads * kEach);
  auto got = s.handle_mqtt("$aws/things/c/shadow/get", "", 2);
  CHECK(got->body.find("\"version\":" + std::to_string(kThreads * kEach) + ",") != std::string::npos);
  for (int t = 0; t < kThreads; ++t)
    CHECK(got->body.find("\"w" + std::to_string(t) + "\":" + std::to_string(kEach - 1)) != std::string::npos);
}

TEST_CASE("every live shadow is listed in key order with an opaque token (extension)", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  auto update = [&](const std::string& topic) {
    REQUIRE(s.handle_mqtt("$aws/things/" + topic + "/update", R"({"state":{"reported":{"a":1}}})", 1)->ok());
  };
  for (const char* t : {"b/shadow", "a/shadow/name/n2", "a/shadow", "a/shadow/name/n1", "c/shadow/name/x",
                        "b/shadow/name/gone", "d/shadow"})
    update(t);
  REQUIRE(s.handle_mqtt("$aws/things/b/shadow/name/gone/delete", "", 2)->ok());
  REQUIRE(s.handle_mqtt("$aws/things/d/shadow/delete", "", 2)->ok());

  CHECK(s.list_shadows(std::nullopt, std::nullopt, 5).body ==
        R"({"results":[{"thingName":"a"},{"thingName":"a","shadowName":"n1"},)"
        R"({"thingName":"a","shadowName":"n2"},{"thingName":"b"},)"
        R"({"thingName":"c","shadowName":"x"}],"timestamp":5})");

  // Pages of two, following nextToken, add up to the same list.
  std::vector<std::string> pages;
  std::optional<std::string> token;
  for (int i = 0; i < 10; ++i) {
    auto r = s.list_shadows("2", token ? std::optional<std::string_view>(*token) : std::nullopt, 6);
    REQUIRE(r.status == 200);
    auto pos = r.body.find(R"("nextToken":")");
    pages.push_back(r.body.substr(0, r.body.find("],") + 1));
    if (pos == std::string::npos) break;
    token = r.body.substr(pos + 13, r.body.find('"', pos + 13) - pos - 13);
  }
  CHECK(pages == std::vector<std::string>{
                     R"({"results":[{"thingName":"a"},{"thingName":"a","shadowName":"n1"}])",
                     R"({"results":[{"thingName":"a","shadowName":"n2"},{"thingName":"b"}])",
                     R"({"results":[{"thingName":"c","shadowName":"x"}])"});

  // A token naming a classic shadow continues with that thing's named shadows.
  CHECK(s.list_shadows("1", std::string_view("YgA"), 7).body ==  // "b\0"
        R"({"results":[{"thingName":"c","shadowName":"x"}],"timestamp":7})");

  for (const char* bad : {"0", "1001", "x", "", "-1", "10000"})
    CHECK(s.list_shadows(std::string_view(bad), std::nullopt, 8).status == 400);
  CHECK(s.list_shadows(std::string_view("1000"), std::nullopt, 8).status == 200);
  CHECK(s.list_shadows(std::nullopt, std::nullopt, 8).body.find("\"message\"") == std::string::npos);
  for (const char* bad : {"!!", "YWJj" /* "abc": no NUL */, "YmFkLm5hbWUA" /* "bad.name\0" */,
                          "dABiYWQvbmFtZQ" /* "t\0bad/name" */, "AA" /* "\0": no thing */}) {
    auto r = s.list_shadows(std::nullopt, std::string_view(bad), 9);
    CHECK(r.status == 400);
    CHECK(r.body == R"({"code":400,"message":"Invalid nextToken"})");
  }
  CHECK(s.list_shadows(std::string_view("0"), std::nullopt, 9).body ==
        R"({"code":400,"message":"pageSize must be between 1 and 1000"})");
}

TEST_CASE("listing every shadow defaults to pages of 100", "[service]") {
  MemoryStore store;
  Service s(Config{}, store);
  for (int i = 0; i < 101; ++i) {
    std::string thing = "t" + std::string(i < 10 ? "00" : i < 100 ? "0" : "") + std::to_string(i);
    REQUIRE(s.handle_mqtt("$aws/things/" + thing + "/shadow/update", R"({"state":{}})", 1)->ok());
  }
  auto first = s.list_shadows(std::nullopt, std::nullopt, 2);
  REQUIRE(first.status == 200);
  size_t listed = 0;
  for (size_t p = first.body.find("thingName"); p != std::string::npos; p = first.body.find("thingName", p + 1))
    ++listed;
  CHECK(listed == 100);
  CHECK(first.body.find(R"({"thingName":"t099"}],"nextToken":")") != std::string::npos);
  auto pos = first.body.find(R"("nextToken":")");
  REQUIRE(pos != std::string::npos);
  std::string token = first.body.substr(pos + 13, first.body.find('"', pos + 13) - pos - 13);
  CHECK(s.list_shadows(std::nullopt, std::string_view(token), 3).body ==
        R"({"results":[{"thingName":"t100"}],"timestamp":3})");
}

TEST_CASE("writers of one shadow in one process are serialized, never retried", "[service]") {
  // The lock in Service (service.h) orders them: no compare-and-set conflict
  // can happen, so none is retried and none can end in a 500.
  MemoryStore store;
  Service s(Config{}, store);
  constexpr int kThreads = 4, kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        CHECK(s.handle_mqtt("$aws/things/c/shadow/update", R"({"state":{"reported":{"n":1}}})", 1)->ok());
    });
  for (auto& th : threads) th.join();
  CHECK(s.stats().write_retries == 0);
  CHECK(s.stats().write_gave_up == 0);
  // One lock per shadow, the same one every time.
  Service::ShadowLock a = s.lock(ShadowId{"c", ""});
  std::mutex* first = a.mutex();
  a.unlock();
  CHECK(s.lock(ShadowId{"c", ""}).mutex() == first);
}

namespace {

// A store shared with "another broker": before each of the first `conflicts`
// compare-and-sets of ours, the other broker writes the same shadow, so ours
// finds a newer record and conflicts.
class SharedStore final : public ForwardingStore {
 public:
  explicit SharedStore(int conflicts) : conflicts_(conflicts) {}
  Status compare_and_set(const StoreKey& k, const std::optional<RecordStamp>& expected,
                         const ShadowRecord& next, const std::vector<ItemChange>& items = {}) override {
    if (conflicts_ < 0 || conflicts_-- > 0) {
      ShadowRecord theirs;
      Status st = inner_.get(k, &theirs);
      std::optional<RecordStamp> stamp;
      if (st.is_ok()) stamp = stamp_of(theirs);
      ShadowRecord bumped = next;  // any valid document at a higher version
      bumped.version = (st.is_ok() ? theirs.version : 0) + 1;
      REQUIRE(inner_.compare_and_set(k, stamp, bumped).is_ok());
    }
    return inner_.compare_and_set(k, expected, next, items);
  }

 private:
  int conflicts_;  // < 0: always
};

}  // namespace

TEST_CASE("a write that another process raced is recomputed on the fresh record", "[service]") {
  SharedStore store(3);
  Service s(Config{}, store);
  auto r = s.handle_mqtt("$aws/things/c/shadow/update", R"({"state":{"reported":{"n":1}}})", 1);
  REQUIRE(r->ok());
  // Three versions went to the other broker; ours is the fourth.
  CHECK(r->body.find("\"version\":4") != std::string::npos);
  CHECK(s.stats().write_retries == 3);
  CHECK(s.stats().write_gave_up == 0);
}

namespace {

// A store whose get_for_update answers from a snapshot (what a RedisStore's
// record cache holds after another broker wrote the shadow).
class StaleCacheStore final : public ForwardingStore {
 public:
  Status get_for_update(const StoreKey& k, ShadowRecord* out) override {
    ++reads_for_update;
    if (!snapshot) return inner_.get(k, out);
    *out = *snapshot;
    return Status::ok();
  }
  void take_snapshot(const StoreKey& k) {
    snapshot.emplace();
    REQUIRE(inner_.get(k, &*snapshot).is_ok());
  }
  std::optional<ShadowRecord> snapshot;
  int reads_for_update = 0;
};

}  // namespace

TEST_CASE("an update on a stale cached record is redone on a fresh read", "[service]") {
  StaleCacheStore store;
  Service s(Config{}, store);
  const char* topic = "$aws/things/c/shadow/update";
  REQUIRE(s.handle_mqtt(topic, R"({"state":{"reported":{"a":1}}})", 1)->ok());
  store.take_snapshot({"c", ""});  // version 1
  REQUIRE(s.handle_mqtt(topic, R"({"state":{"reported":{"b":2}}})", 2)->ok());
  CHECK(s.stats().write_retries == 0);  // the snapshot was still current

  // Version 2 is stored, the cache says 1: the write conflicts and is redone.
  auto r = s.handle_mqtt(topic, R"({"state":{"reported":{"c":3}}})", 3);
  REQUIRE(r->ok());
  CHECK(r->body.find("\"version\":3") != std::string::npos);
  CHECK(s.stats().write_retries == 1);
  auto doc = s.handle_mqtt("$aws/things/c/shadow/get", "", 4);
  CHECK(doc->body.find(R"("reported":{"a":1,"b":2,"c":3})") != std::string::npos);

  // A versioned update decides on the version: it reads fresh at once.
  int before = store.reads_for_update;
  CHECK(s.handle_mqtt(topic, R"({"state":{"reported":{"d":4}},"version":3})", 5)->ok());
  CHECK(store.reads_for_update == before);
  auto stale_version = s.handle_mqtt(topic, R"({"state":{"reported":{"d":5}},"version":1})", 6);
  CHECK(stale_version->status == 409);
}

TEST_CASE("conflicts that go on past the deadline end in a 500, counted", "[service]") {
  SharedStore store(-1);
  Config config;
  config.write_conflict_deadline_ms = 30;
  Service s(config, store);
  auto r = s.handle_mqtt("$aws/things/c/shadow/update", R"({"state":{"reported":{"n":1}},"clientToken":"t"})", 1);
  CHECK(r->status == 500);
  CHECK(r->body == R"({"code":500,"message":"Internal service failure","clientToken":"t"})");
  CHECK(s.stats().write_gave_up == 1);
  CHECK(s.stats().write_retries >= 1);
}

TEST_CASE("reject() answers like the engine: MQTT on /rejected with the token, REST body only", "[service]") {
  MemoryStore store;
  Config config;
  Service s(config, store);
  auto request = s.mqtt_request("dev1/shadow/name/cfg/update", R"({"state":{},"clientToken":"tok"})", 7);
  REQUIRE(request);
  ReplyAddress to = s.reply_address(*request);
  CHECK(to.client_token == "tok");
  ServiceResponse r = s.reject(to, Rejection{429, "Too Many Requests"}, 7);
  CHECK(r.status == 429);
  CHECK(r.body == R"({"code":429,"message":"Too Many Requests","clientToken":"tok"})");
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].topic == "dev1/shadow/name/cfg/update/rejected");  // the request's form
  CHECK(r.messages[0].payload == r.body);

  // Over the payload cap the token is not even looked for.
  config.max_payload_bytes = 10;
  Service small(config, store);
  CHECK_FALSE(small.reply_address(*request).client_token);

  config.error_timestamp = true;
  Service stamped(config, store);
  CHECK(stamped.reject(to, Rejection{500, "Internal service failure"}, 9).body ==
        R"({"code":500,"message":"Internal service failure","timestamp":9,"clientToken":"tok"})");

  ReplyAddress rest_to;
  rest_to.channel = Channel::kRest;
  ServiceResponse rr = s.reject(rest_to, Rejection{503, "busy"}, 7);
  CHECK(rr.messages.empty());
  CHECK(rr.body == R"({"code":503,"message":"busy"})");
}
