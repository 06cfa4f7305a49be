// The presence state machine (plugin/presence/tracker.h): connects seen at
// CONNECT or at first activity, refusals, takeovers, Wills, restarts,
// versionNumbers, thing connectivity and its coalescing, and the records
// it keeps in the store.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plugin/presence/events.h"
#include "plugin/presence/records.h"
#include "plugin/presence/tracker.h"
#include "shadow_core/json.h"
#include "store/memory_store.h"

using namespace shadow;
using namespace shadow::presence;

namespace {

// Distinct connection handles: addresses of these bytes.
char handles[8];
ConnKey conn(int i) { return &handles[i]; }

ClientFacts facts(const std::string& id, std::optional<std::string> thing = std::nullopt) {
  ClientFacts f;
  f.client_id = id;
  f.principal_id = "user-" + id;
  f.ip_address = "127.0.0.1";
  f.thing = std::move(thing);
  return f;
}

TrackerOptions with_events() {
  TrackerOptions o;
  o.lifecycle_events = true;
  return o;
}

json::Document parse(const std::string& text) {
  json::Document d;
  REQUIRE(json::parse(text, &d));
  return d;
}

std::vector<std::string> topics(const TickResult& r) {
  std::vector<std::string> t;
  for (const auto& m : r.events) t.push_back(m.topic);
  return t;
}

}  // namespace

TEST_CASE("presence: a CONNECT becomes connected at the end of the pass", "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  t.connecting(conn(0), facts("dev1", "dev1"), 1000);
  CHECK(t.knows(conn(0)));
  CHECK(t.live_connections() == 0);
  TickResult r = t.tick(1005);
  REQUIRE(topics(r) == std::vector<std::string>{"$aws/events/presence/connected/dev1"});
  json::Document e = parse(r.events[0].payload);
  CHECK(r.events[0].payload.rfind(R"({"clientId":"dev1","timestamp":1000,"eventType":"connected","sessionIdentifier":")", 0) == 0);
  CHECK(std::string(e["principalIdentifier"].GetString()) == "user-dev1");
  CHECK(std::string(e["ipAddress"].GetString()) == "127.0.0.1");
  CHECK(e["versionNumber"].GetUint64() == 0);
  CHECK(std::string(e["sessionIdentifier"].GetString()).size() == 36);
  REQUIRE(r.things.size() == 1);
  CHECK(r.things[0].thing == "dev1");
  CHECK(r.things[0].connected);
  CHECK(r.things[0].timestamp_ms == 1000);
  CHECK(t.live_connections() == 1);

  auto c = read_connectivity(store, "dev1");
  REQUIRE(c.ok());
  REQUIRE(c.value());
  CHECK(*c.value() == Connectivity{true, 1000});
  auto record = read_client(store, "dev1");
  REQUIRE(record.ok());
  REQUIRE(record.value());
  CHECK(record.value()->connected);
  CHECK(record.value()->version == 0);
  CHECK(record.value()->thing == std::optional<std::string>("dev1"));
}

TEST_CASE("presence: a refused CONNECT leaves no trace", "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  t.connecting(conn(0), facts("dev1", "dev1"), 1000);
  t.disconnected(conn(0), /*had_client_id=*/false, 1001);
  TickResult r = t.tick(1002);
  CHECK(r.events.empty());
  CHECK(r.things.empty());
  auto record = read_client(store, "dev1");
  REQUIRE(record.ok());
  CHECK(!record.value());
}

TEST_CASE("presence: connect and disconnect share one versionNumber; the next connection gets a higher one",
          "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  std::vector<uint64_t> versions;
  std::vector<std::string> sessions;
  for (int round = 0; round < 3; round++) {
    t.connecting(conn(0), facts("dev1"), 1000 + round * 10);
    TickResult up = t.tick(1001 + round * 10);
    t.disconnected(conn(0), true, 1005 + round * 10);
    TickResult down = t.tick(1006 + round * 10);
    REQUIRE(up.events.size() == 1);
    REQUIRE(down.events.size() == 1);
    json::Document a = parse(up.events[0].payload), b = parse(down.events[0].payload);
    CHECK(a["versionNumber"].GetUint64() == b["versionNumber"].GetUint64());
    CHECK(std::string(a["sessionIdentifier"].GetString()) == b["sessionIdentifier"].GetString());
    versions.push_back(a["versionNumber"].GetUint64());
    sessions.emplace_back(a["sessionIdentifier"].GetString());
    // Without a Will check nothing tells why it ended: no reason fields.
    CHECK(!b.HasMember("disconnectReason"));
    CHECK(!b.HasMember("clientInitiatedDisconnect"));
    CHECK(!b.HasMember("ipAddress"));
  }
  CHECK(versions == std::vector<uint64_t>{0, 1, 2});
  CHECK(sessions[0] != sessions[1]);
  // A new tracker (a restart) continues from the store.
  PresenceTracker again(store, with_events());
  again.connecting(conn(1), facts("dev1"), 2000);
  TickResult r = again.tick(2001);
  REQUIRE(r.events.size() == 1);
  CHECK(parse(r.events[0].payload)["versionNumber"].GetUint64() == 3);
}

TEST_CASE("presence: a Will published after the end means a lost connection", "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  t.connecting(conn(0), facts("dev1"), 1000);
  t.tick(1001);
  t.disconnected(conn(0), true, 1500);
  CHECK(t.ended_in_this_pass(conn(0)));
  t.will_published(conn(0));
  TickResult r = t.tick(1501);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].topic == "$aws/events/presence/disconnected/dev1");
  CHECK(r.events[0].payload.find(R"("principalIdentifier":"user-dev1","clientInitiatedDisconnect":false,"disconnectReason":"CONNECTION_LOST","versionNumber":0})") != std::string::npos);
  CHECK(!t.ended_in_this_pass(conn(0)));
}

TEST_CASE("presence: a takeover reports the old connection gone before the new one, and the thing stays connected",
          "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  t.connecting(conn(0), facts("dev1", "dev1"), 1000);
  TickResult first = t.tick(1001);
  REQUIRE(first.things.size() == 1);
  // The broker sees the new CONNECT, then closes the old connection.
  t.connecting(conn(1), facts("dev1", "dev1"), 2000);
  t.disconnected(conn(0), true, 2000);
  TickResult r = t.tick(2001);
  REQUIRE(topics(r) == std::vector<std::string>{"$aws/events/presence/disconnected/dev1",
                                                "$aws/events/presence/connected/dev1"});
  json::Document down = parse(r.events[0].payload), up = parse(r.events[1].payload);
  CHECK(std::string(down["disconnectReason"].GetString()) == "DUPLICATE_CLIENTID");
  CHECK(down["clientInitiatedDisconnect"].GetBool() == false);
  CHECK(down["versionNumber"].GetUint64() == 0);
  CHECK(up["versionNumber"].GetUint64() == 1);
  CHECK(r.things.empty());  // connected before, connected after: nothing to write
  CHECK(t.live_connections() == 1);
  auto record = read_client(store, "dev1");
  REQUIRE(record.ok());
  CHECK(record.value()->connected);
  CHECK(record.value()->version == 1);
  std::string live;
  CHECK(store.get_item(kSpace, live_key("dev1"), &live).is_ok());
}

TEST_CASE("presence: without a CONNECT hook the first activity connects, and a Will check is no activity",
          "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  int asked = 0;
  auto f = [&] {
    asked++;
    return facts("dev2", "dev2");
  };
  t.active(conn(0), f, 1000);
  t.active(conn(0), f, 1001);
  CHECK(asked == 1);
  t.subscribed(conn(0), "a/b");
  t.subscribed(conn(0), "c/d");
  t.unsubscribed(conn(0), "a/b");
  TickResult r = t.tick(1002);
  REQUIRE(topics(r) == std::vector<std::string>{"$aws/events/presence/connected/dev2",
                                                "$aws/events/subscriptions/subscribed/dev2",
                                                "$aws/events/subscriptions/unsubscribed/dev2"});
  CHECK(r.events[1].payload.find(R"("eventType":"subscribed",)") != std::string::npos);
  CHECK(r.events[1].payload.find(R"(,"topics":["a/b","c/d"]})") != std::string::npos);
  CHECK(r.events[2].payload.find(R"(,"topics":["a/b"]})") != std::string::npos);

  t.disconnected(conn(0), true, 2000);
  t.active(conn(0), f, 2000);  // the Will's ACL check: must not reconnect it
  TickResult down = t.tick(2001);
  REQUIRE(topics(down) == std::vector<std::string>{"$aws/events/presence/disconnected/dev2"});
  CHECK(t.live_connections() == 0);
  // An unknown connection that ends is ignored, its Will too.
  t.disconnected(conn(3), true, 3000);
  t.will_published(conn(3));
  t.active(conn(3), f, 3000);
  CHECK(t.tick(3001).events.empty());
}

TEST_CASE("presence: a restart reports the clients left connected as SERVER_INITIATED_DISCONNECT", "[presence]") {
  MemoryStore store;
  {
    PresenceTracker before(store, with_events());
    before.connecting(conn(0), facts("dev1", "dev1"), 1000);
    before.connecting(conn(1), facts("app", std::nullopt), 1000);
    before.tick(1001);
  }  // the broker stops: no disconnects
  PresenceTracker t(store, with_events());
  REQUIRE(t.recover(5000).is_ok());
  // A client connecting in the first pass comes after the recovered ends.
  t.connecting(conn(2), facts("dev1", "dev1"), 5001);
  TickResult r = t.tick(5002);
  REQUIRE(topics(r) == std::vector<std::string>{"$aws/events/presence/disconnected/app",
                                                "$aws/events/presence/disconnected/dev1",
                                                "$aws/events/presence/connected/dev1"});
  json::Document down = parse(r.events[1].payload);
  CHECK(std::string(down["disconnectReason"].GetString()) == "SERVER_INITIATED_DISCONNECT");
  CHECK(down["versionNumber"].GetUint64() == 0);
  CHECK(parse(r.events[2].payload)["versionNumber"].GetUint64() == 1);
  CHECK(r.things.empty());  // dev1 was connected and is again

  PresenceTracker later(store, with_events());
  REQUIRE(later.recover(9000).is_ok());
  TickResult again = later.tick(9001);
  REQUIRE(again.things.size() == 1);
  CHECK(again.things[0].thing == "dev1");
  CHECK(!again.things[0].connected);
  CHECK(later.tick(9002).events.empty());  // reported once
  PresenceTracker third(store, with_events());
  REQUIRE(third.recover(9500).is_ok());
  CHECK(third.tick(9501).events.empty());
}

TEST_CASE("presence: a thing is connected while any of its clients is; changes coalesce within a pass",
          "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, TrackerOptions{});
  t.connecting(conn(0), facts("a", "shared"), 1000);
  t.connecting(conn(1), facts("b", "shared"), 1000);
  TickResult r = t.tick(1001);
  CHECK(r.events.empty());  // lifecycle events off
  REQUIRE(r.things.size() == 1);
  t.disconnected(conn(0), true, 1100);
  CHECK(t.tick(1101).things.empty());  // b is still there
  t.disconnected(conn(1), true, 1200);
  TickResult down = t.tick(1201);
  REQUIRE(down.things.size() == 1);
  CHECK(!down.things[0].connected);
  CHECK(down.things[0].timestamp_ms == 1200);
  // Up and down within one pass: nothing changed.
  t.connecting(conn(2), facts("c", "shared"), 1300);
  t.disconnected(conn(2), true, 1300);
  CHECK(t.tick(1301).things.empty());
  // The same for a thing never seen before: no record, nothing to write.
  t.connecting(conn(3), facts("d", "fresh"), 1400);
  t.disconnected(conn(3), true, 1400);
  CHECK(t.tick(1401).things.empty());
  auto fresh = read_connectivity(store, "fresh");
  REQUIRE(fresh.ok());
  CHECK(!fresh.value());
}

TEST_CASE("presence: client ids with wildcards get no events", "[presence]") {
  MemoryStore store;
  PresenceTracker t(store, with_events());
  t.connecting(conn(0), facts("a+b"), 1000);
  CHECK(t.tick(1001).events.empty());
  CHECK(has_lifecycle_events("dev-1"));
  CHECK(!has_lifecycle_events("a#"));
  CHECK(!has_lifecycle_events(""));
}

TEST_CASE("presence: event documents have AWS's members in AWS's order", "[presence]") {
  Session s{"c1", "00000000-0000-4000-8000-000000000000", "abc", "192.0.2.1", 7};
  CHECK(connected_event(s, 1573002230757) ==
        R"({"clientId":"c1","timestamp":1573002230757,"eventType":"connected","sessionIdentifier":"00000000-0000-4000-8000-000000000000","principalIdentifier":"abc","ipAddress":"192.0.2.1","versionNumber":7})");
  CHECK(disconnected_event(s, 5, DisconnectReason::kDuplicateClientId) ==
        R"({"clientId":"c1","timestamp":5,"eventType":"disconnected","sessionIdentifier":"00000000-0000-4000-8000-000000000000","principalIdentifier":"abc","clientInitiatedDisconnect":false,"disconnectReason":"DUPLICATE_CLIENTID","versionNumber":7})");
  CHECK(disconnected_event(s, 5, std::nullopt) ==
        R"({"clientId":"c1","timestamp":5,"eventType":"disconnected","sessionIdentifier":"00000000-0000-4000-8000-000000000000","principalIdentifier":"abc","versionNumber":7})");
  CHECK(subscription_event(s, false, 9, {"x/\"y"}) ==
        R"({"clientId":"c1","timestamp":9,"eventType":"unsubscribed","sessionIdentifier":"00000000-0000-4000-8000-000000000000","principalIdentifier":"abc","topics":["x/\"y"]})");
  CHECK(subscription_topic(true, "c1") == "$aws/events/subscriptions/subscribed/c1");
}

TEST_CASE("presence: connectivity is listed by thing and damaged records are errors", "[presence]") {
  MemoryStore memory;
  Store& store = memory;
  REQUIRE(store.put_item(kSpace, thing_key("b"), encode(Connectivity{true, 2})).is_ok());
  REQUIRE(store.put_item(kSpace, thing_key("a"), encode(Connectivity{false, 1})).is_ok());
  REQUIRE(store.put_item(kSpace, client_key("x"), "{}").is_ok());
  std::vector<std::pair<std::string, Connectivity>> page;
  bool more = true;
  REQUIRE(list_connectivity(store, "", 10, &page, &more).is_ok());
  CHECK(!more);
  REQUIRE(page.size() == 2);
  CHECK(page[0].first == "a");
  CHECK(page[1].second == Connectivity{true, 2});
  REQUIRE(list_connectivity(store, "a", 10, &page, &more).is_ok());
  REQUIRE(page.size() == 1);
  CHECK(page[0].first == "b");
  auto missing = read_connectivity(store, "nope");
  REQUIRE(missing.ok());
  CHECK(!missing.value());
  REQUIRE(store.put_item(kSpace, thing_key("bad"), "not json").is_ok());
  CHECK(!read_connectivity(store, "bad").ok());
  CHECK(!read_client(store, "x").ok());
}

TEST_CASE("presence: which subscriptions ask for a catch-up delta", "[presence]") {
  Config c;
  auto id = delta_subscription("$aws/things/dev1/shadow/update/delta", c);
  REQUIRE(id);
  CHECK(id->thing == "dev1");
  CHECK(!id->named());
  id = delta_subscription("dev1/shadow/name/cfg/update/delta", c);
  REQUIRE(id);
  CHECK(id->shadow == "cfg");
  CHECK(!delta_subscription("$aws/things/+/shadow/update/delta", c));
  CHECK(!delta_subscription("$aws/things/dev1/shadow/update/#", c));
  CHECK(!delta_subscription("$aws/things/dev1/shadow/update/documents", c));
  CHECK(!delta_subscription("$aws/things/dev1/shadow/get/delta", c));
  CHECK(!delta_subscription("$aws/things/a b/shadow/update/delta", c));
  c.short_topics = false;
  CHECK(!delta_subscription("dev1/shadow/update/delta", c));
}
