// The engine and pipeline sides of presence: requests the service makes
// itself (Channel::kService), the catch-up delta, clear_desired_on_match,
// the lifecycle event authorization and the presence options.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plugin/authz/authorization.h"
#include "plugin/options/options.h"
#include "plugin/runtime/pipeline.h"
#include "recording_output.h"
#include "shadow_core/json.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"

using namespace shadow;
using shadow::runtime::Metrics;
using shadow::runtime::Pipeline;

namespace {

ServiceRequest request(Channel channel, Operation op, std::string_view body, int64_t now,
                       std::string thing = "dev1") {
  ServiceRequest r;
  r.channel = channel;
  r.op = op;
  r.id = {std::move(thing), ""};
  r.payload = body;
  r.now = now;
  return r;
}

std::vector<std::string> topics(const std::vector<OutMessage>& messages) {
  std::vector<std::string> t;
  for (const auto& m : messages) t.push_back(m.topic);
  return t;
}

json::Document parse(const std::string& text) {
  json::Document d;
  REQUIRE(json::parse(text, &d));
  return d;
}

Config aws_events() {
  Config c;
  c.event_topics = EventTopics::kAws;
  return c;
}

}  // namespace

TEST_CASE("service channel: only events are published, a rejection publishes nothing", "[presence][service]") {
  MemoryStore store;
  Service s(aws_events(), store);
  auto r = s.handle(request(Channel::kService, Operation::kUpdate, R"({"state":{"reported":{"connected":true}}})", 10));
  CHECK(r.ok());
  CHECK(topics(r.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/documents"});
  auto bad = s.handle(request(Channel::kService, Operation::kUpdate, R"({"state":{"reported":{"x":1}},"version":7})", 11));
  CHECK(bad.status == 409);
  CHECK(bad.messages.empty());
}

TEST_CASE("pipeline: a presence write publishes its events; a refused one publishes nothing", "[presence][pipeline]") {
  MemoryStore store;
  Config config = aws_events();
  config.max_document_bytes = 40;
  Service service(config, store);
  Metrics metrics;
  Pipeline p(service, metrics, {});
  RecordingOutput out;
  REQUIRE(p.mqtt_publish("$aws/things/dev1/shadow/update", R"({"state":{"desired":{"c":true}}})", 1, out));
  out.messages.clear();
  auto r = p.service_request(request(Channel::kService, Operation::kUpdate, R"({"state":{"reported":{"c":false}}})", 2), out);
  CHECK(r.ok());
  CHECK(topics(out.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/delta",
                                                         "$aws/things/dev1/shadow/update/documents"});
  // Counted as the service's own request, not as a client's.
  const std::string rendered = metrics.render({});
  CHECK(rendered.find(R"(channel="service",operation="update",code="200"} 1)") != std::string::npos);
  CHECK(rendered.find(R"(channel="mqtt",operation="update",code="200"} 1)") != std::string::npos);
  out.messages.clear();
  auto big = p.service_request(
      request(Channel::kService, Operation::kUpdate, R"({"state":{"reported":{"long":"xxxxxxxxxxxxxxxxxxxxxxxxxx"}}})", 3), out);
  CHECK(big.status == 413);
  CHECK(out.messages.empty());
}

TEST_CASE("pipeline: the catch-up delta goes to one client, only when the delta is not empty",
          "[presence][pipeline]") {
  MemoryStore store;
  Service service(aws_events(), store);
  Metrics metrics;
  Pipeline p(service, metrics, {});
  RecordingOutput out;
  ShadowId id{"dev1", ""};
  CHECK_FALSE(p.send_current_delta(id, "$aws/things/dev1/shadow/update/delta", "c1", 5, out));  // no shadow
  REQUIRE(p.mqtt_publish("$aws/things/dev1/shadow/update",
                         R"({"state":{"desired":{"a":1,"b":2},"reported":{"a":1}},"clientToken":"t"})", 3, out));
  out.messages.clear();
  CHECK(p.send_current_delta(id, "dev1/shadow/update/delta", "c1", 5, out));
  REQUIRE(out.messages.size() == 1);
  const OutMessage& m = out.messages[0];
  CHECK(m.topic == "dev1/shadow/update/delta");
  CHECK(m.client_id == "c1");
  CHECK(m.payload == R"({"version":1,"timestamp":5,"state":{"b":2},"metadata":{"b":{"timestamp":3}}})");
  REQUIRE(p.mqtt_publish("$aws/things/dev1/shadow/update", R"({"state":{"reported":{"b":2}}})", 6, out));
  out.messages.clear();
  CHECK_FALSE(p.send_current_delta(id, "dev1/shadow/update/delta", "c1", 7, out));
  CHECK(out.messages.empty());
}

TEST_CASE("clear_desired_on_match: matched desired keys go in one further versioned write", "[presence][service]") {
  MemoryStore store;
  Config config = aws_events();
  config.clear_desired_on_match = true;
  Service s(config, store);
  auto mqtt = [&](std::string_view body, int64_t now) {
    return *s.handle_mqtt("$aws/things/dev1/shadow/update", body, now);
  };
  auto r = mqtt(R"({"state":{"desired":{"color":"red","light":{"on":true,"level":5},"fan":1}},"clientToken":"a"})", 10);
  CHECK(topics(r.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/accepted",
                                                       "$aws/things/dev1/shadow/update/delta",
                                                       "$aws/things/dev1/shadow/update/documents"});
  // The device reports two of them; the follow-up removes them from desired.
  r = mqtt(R"({"state":{"reported":{"color":"red","light":{"on":true,"level":3}}},"clientToken":"b"})", 20);
  REQUIRE(topics(r.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/accepted",
                                                         "$aws/things/dev1/shadow/update/delta",
                                                         "$aws/things/dev1/shadow/update/documents",
                                                         "$aws/things/dev1/shadow/update/accepted",
                                                         "$aws/things/dev1/shadow/update/documents"});
  CHECK(parse(r.messages[0].payload)["version"].GetUint64() == 2);
  CHECK(r.messages[3].payload ==
        R"({"state":{"desired":{"color":null,"light":{"on":null}}},"metadata":{"desired":{"color":{"timestamp":20},"light":{"on":{"timestamp":20}}}},"version":3,"timestamp":20})");
  json::Document docs = parse(r.messages[4].payload);
  CHECK(docs["previous"]["version"].GetUint64() == 2);
  CHECK(docs["current"]["version"].GetUint64() == 3);
  CHECK(!docs.HasMember("clientToken"));
  CHECK(json::write(docs["current"]["state"]["desired"]) == R"({"light":{"level":5},"fan":1})");

  auto get = s.handle_mqtt("$aws/things/dev1/shadow/get", "", 30);
  json::Document state = parse(get->body);
  CHECK(state["version"].GetUint64() == 3);
  CHECK(json::write(state["state"]["delta"]) == R"({"light":{"level":5},"fan":1})");

  // A request's version is checked against the version before it; the
  // follow-up moved the shadow on, so version 2 is now a conflict.
  auto stale = mqtt(R"({"state":{"desired":{"fan":2}},"version":2})", 40);
  CHECK(stale.status == 409);
  // Nothing matches: no follow-up.
  r = mqtt(R"({"state":{"desired":{"fan":3}},"version":3})", 50);
  CHECK(r.messages.size() == 3);
  // A desired value that already matches is removed at once; desired
  // disappears when nothing is left in it.
  r = mqtt(R"({"state":{"desired":{"fan":1,"light":null},"reported":{"fan":1}},"version":4})", 60);
  CHECK(topics(r.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/accepted",
                                                       "$aws/things/dev1/shadow/update/documents",
                                                       "$aws/things/dev1/shadow/update/accepted",
                                                       "$aws/things/dev1/shadow/update/documents"});
  get = s.handle_mqtt("$aws/things/dev1/shadow/get", "", 61);
  state = parse(get->body);
  CHECK(state["version"].GetUint64() == 6);
  CHECK(!state["state"].HasMember("desired"));
}

TEST_CASE("clear_desired_on_match is off by default", "[presence][service]") {
  MemoryStore store;
  Service s(aws_events(), store);
  auto r = s.handle_mqtt("$aws/things/dev1/shadow/update", R"({"state":{"desired":{"a":1},"reported":{"a":1}}})", 1);
  CHECK(r->messages.size() == 2);  // accepted, documents: no delta, no follow-up
}

TEST_CASE("clear_desired_on_match over REST: the follow-up's events follow the request's", "[presence][service]") {
  MemoryStore store;
  Config config = aws_events();
  config.clear_desired_on_match = true;
  Service s(config, store);
  auto r = s.handle(request(Channel::kRest, Operation::kUpdate, R"({"state":{"desired":{"a":1},"reported":{"a":1}}})", 5));
  CHECK(r.ok());
  CHECK(parse(r.body)["version"].GetUint64() == 1);
  CHECK(topics(r.messages) == std::vector<std::string>{"$aws/things/dev1/shadow/update/accepted",
                                                       "$aws/things/dev1/shadow/update/documents",
                                                       "$aws/things/dev1/shadow/update/accepted",
                                                       "$aws/things/dev1/shadow/update/documents"});
}

// --- authorization of lifecycle event topics -----------------------------------

namespace {

using plugin::Access;
using plugin::AuthzConfig;
using plugin::Decision;
using plugin::IdentitySource;
using plugin::Principal;

Principal client(const std::string& id, bool admin = false) {
  Principal p;
  p.thing = id;
  p.client_id = id;
  p.admin = admin;
  return p;
}

AuthzConfig events_config(bool binding) {
  AuthzConfig c;
  c.lifecycle_events = true;
  if (binding) c.identity = IdentitySource::kClientId;
  return c;
}

Decision decide(const AuthzConfig& c, const Principal& p, Access a, const char* topic) {
  return plugin::decide(c, p, a, topic, true);
}

}  // namespace

TEST_CASE("authz: nobody publishes lifecycle events; with binding a client reads only its own", "[authz][presence]") {
  for (bool binding : {false, true}) {
    AuthzConfig c = events_config(binding);
    CHECK(decide(c, client("d1"), Access::kWrite, "$aws/events/presence/connected/d1") == Decision::kDeny);
    CHECK(decide(c, client("d1", true), Access::kWrite, "$aws/events/anything") == Decision::kDeny);
    CHECK(plugin::is_service_topic(c, "$aws/events/presence/connected/x", true));
  }
  AuthzConfig open = events_config(false);
  CHECK(decide(open, client("d1"), Access::kRead, "$aws/events/presence/connected/d2") == Decision::kNoObjection);
  CHECK(decide(open, client("d1"), Access::kSubscribe, "$aws/events/#") == Decision::kNoObjection);

  AuthzConfig c = events_config(true);
  CHECK(decide(c, client("d1"), Access::kRead, "$aws/events/presence/connected/d1") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kRead, "$aws/events/subscriptions/subscribed/d1") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kRead, "$aws/events/presence/connected/d2") == Decision::kDeny);
  CHECK(decide(c, client("d1", true), Access::kRead, "$aws/events/presence/connected/d2") == Decision::kAllow);
  CHECK(decide(c, client("a/b"), Access::kRead, "$aws/events/presence/connected/a/b") == Decision::kAllow);

  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/events/presence/+/d1") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/events/+/+/d1") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/events/presence/connected/+") == Decision::kDeny);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/events/#") == Decision::kDeny);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/events/presence/connected/d2") == Decision::kDeny);
  CHECK(decide(c, client("d1", true), Access::kSubscribe, "$aws/events/#") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$share/g/$aws/events/presence/+/d1") == Decision::kAllow);
  CHECK(decide(c, client("d1"), Access::kUnsubscribe, "$aws/events/#") == Decision::kAllow);
  // Broad filters: each delivery is checked instead.
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/#") == Decision::kNoObjection);
  // The shadow rules are unchanged.
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/things/d2/shadow/#") == Decision::kDeny);
  CHECK(decide(c, client("d1"), Access::kSubscribe, "$aws/things/d1/shadow/#") == Decision::kAllow);

  // Off: event topics are ordinary topics.
  AuthzConfig off;
  off.identity = IdentitySource::kClientId;
  CHECK(decide(off, client("d1"), Access::kWrite, "$aws/events/presence/connected/d1") == Decision::kNoObjection);
  CHECK(!plugin::is_service_topic(off, "$aws/events/presence/connected/x", true));
}

// --- options ---------------------------------------------------------------------

TEST_CASE("plugin options: presence", "[plugin][presence]") {
  using plugin::ConnectDetection;
  auto parsed = plugin::parse_options({{"db_path", "/d"}});
  REQUIRE(parsed.ok());
  CHECK(!parsed->presence.enabled());
  CHECK(!parsed->engine.clear_desired_on_match);
  CHECK(plugin::describe(*parsed).find("presence") == std::string::npos);

  parsed = plugin::parse_options({{"db_path", "/d"},
                                  {"lifecycle_events", "true"},
                                  {"presence_field", "connected"},
                                  {"delta_on_subscribe", "true"},
                                  {"clear_desired_on_match", "true"},
                                  {"connect_detection", "activity"},
                                  {"acl_fallback", "allow"}});
  REQUIRE(parsed.ok());
  CHECK(parsed->presence.lifecycle_events);
  CHECK(parsed->authz.lifecycle_events);
  CHECK(parsed->presence.field == "connected");
  CHECK(parsed->presence.delta_on_subscribe);
  CHECK(parsed->presence.detection == ConnectDetection::kActivity);
  CHECK(parsed->engine.clear_desired_on_match);
  CHECK(plugin::describe(*parsed).find(
            " lifecycle_events=true presence_field=connected delta_on_subscribe=true "
            "clear_desired_on_match=true connect_detection=activity") != std::string::npos);

  // clear_desired_on_match alone needs no ACL check.
  CHECK(plugin::parse_options({{"db_path", "/d"}, {"clear_desired_on_match", "true"}}).ok());
  // The others need it, and the operator's word on the acl_file.
  auto refused = plugin::parse_options({{"db_path", "/d"}, {"lifecycle_events", "true"}});
  REQUIRE(!refused.ok());
  CHECK(refused.status().message().find("set plugin_opt_acl_fallback allow") != std::string::npos);
  CHECK(plugin::parse_options({{"db_path", "/d"}, {"presence_field", "online"}, {"thing_identity", "client_id"}}).ok());

  for (const char* bad : {"", "a\"b", "a b", "back\\slash"}) {
    auto r = plugin::parse_options({{"db_path", "/d"}, {"presence_field", bad}, {"acl_fallback", "allow"}});
    CHECK(!r.ok());
  }
  CHECK(!plugin::parse_options({{"db_path", "/d"}, {"connect_detection", "auth"}}).ok());
  CHECK(!plugin::parse_options({{"db_path", "/d"}, {"lifecycle_events", "yes"}}).ok());
}
