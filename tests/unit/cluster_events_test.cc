// Cluster mode, the pure parts: the event brokers exchange
// (plugin/cluster/event_codec.h) and which subscriptions make a broker want
// which events (plugin/cluster/interest.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plugin/cluster/event_codec.h"
#include "plugin/cluster/interest.h"

using shadow::OutMessage;
using shadow::RecordStamp;
using shadow::ShadowId;
using shadow::WrittenStamps;
using shadow::cluster::decode_event;
using shadow::cluster::encode_event;
using shadow::cluster::event_origin;
using shadow::cluster::FilterInterest;
using shadow::cluster::interest_of;
using shadow::cluster::InterestTable;

TEST_CASE("cluster events: a write's event round-trips, binary payloads included", "[cluster]") {
  WrittenStamps w;
  w.before = RecordStamp{41, false};
  w.after = RecordStamp{42, false};
  std::string binary("a\0b:7:\n{}", 9);
  std::vector<OutMessage> messages = {{"$aws/things/t-1/shadow/name/cfg/update/accepted", R"({"version":42})", 1, false},
                                      {"t-1/shadow/name/cfg/update/documents", binary, 0, true}};
  std::string data = encode_event("host/123/abcd", ShadowId{"t-1", "cfg"}, w, messages);
  auto decoded = decode_event(data);
  REQUIRE(decoded.ok());
  CHECK(decoded->origin == "host/123/abcd");
  CHECK(decoded->id.thing == "t-1");
  CHECK(decoded->id.shadow == "cfg");
  REQUIRE(decoded->written);
  CHECK(decoded->written->before == w.before);
  CHECK(decoded->written->after == w.after);
  REQUIRE(decoded->messages.size() == 2);
  CHECK(decoded->messages[0].topic == messages[0].topic);
  CHECK(decoded->messages[0].payload == messages[0].payload);
  CHECK(decoded->messages[0].qos == 1);
  CHECK_FALSE(decoded->messages[0].retain);
  CHECK(decoded->messages[1].payload == binary);
  CHECK(decoded->messages[1].qos == 0);
  CHECK(decoded->messages[1].retain);

  // A create (nothing stored before), a tombstone, a huge version.
  WrittenStamps create;
  create.after = RecordStamp{UINT64_MAX, true};
  auto c = decode_event(encode_event("b", ShadowId{"t", ""}, create, {}));
  REQUIRE(c.ok());
  CHECK_FALSE(c->written->before);
  CHECK(c->written->after == create.after);
  CHECK(c->id.shadow.empty());
  CHECK(c->messages.empty());

  // An answer that wrote nothing.
  auto r = decode_event(encode_event("b", ShadowId{"t", ""}, std::nullopt, {{"t/shadow/get/accepted", "{}"}}));
  REQUIRE(r.ok());
  CHECK_FALSE(r->written);
  CHECK(r->messages.size() == 1);
}

TEST_CASE("cluster events: malformed events are refused, never half-read", "[cluster]") {
  std::string good = encode_event("b", ShadowId{"t", ""}, std::nullopt, {{"t/shadow/get/accepted", "{}"}});
  REQUIRE(decode_event(good).ok());
  for (size_t cut = 0; cut < good.size(); cut++) {
    INFO(cut);
    CHECK_FALSE(decode_event(good.substr(0, cut)).ok());
  }
  CHECK_FALSE(decode_event(good + "x").ok());
  CHECK_THAT(decode_event("SE2" + good.substr(3)).status().message(), Catch::Contains("unknown format"));
  CHECK_FALSE(decode_event("SE11:b1:t0:1:x1:0").ok());                 // unknown kind
  CHECK_FALSE(decode_event("SE11:b1:t0:1:w0:17:00000000000000zz01:0").ok());  // bad stamp
  CHECK_FALSE(decode_event("SE11:b0:0:0:1:0").ok());                   // no thing
  CHECK_FALSE(decode_event("SE11:b1:t0:0:99999999999:0").ok());        // absurd count
}

TEST_CASE("cluster events: the origin is read from the header alone", "[cluster]") {
  std::string data = encode_event("host/123/abcd", ShadowId{"t", "cfg"}, std::nullopt,
                                  {{"t/shadow/name/cfg/get/accepted", "{}"}});
  REQUIRE(event_origin(data) == std::optional<std::string_view>("host/123/abcd"));
  // The header is enough: the rest is not read.
  CHECK(event_origin(data.substr(0, 19)) == std::optional<std::string_view>("host/123/abcd"));
  CHECK_FALSE(event_origin(data.substr(0, 10)));
  CHECK_FALSE(event_origin("SE2" + data.substr(3)));
  CHECK_FALSE(event_origin(""));
  CHECK_FALSE(event_origin("SE1x:b"));
}

TEST_CASE("cluster interest: which filters want which things' events", "[cluster]") {
  auto thing = [](std::string t) { return FilterInterest{FilterInterest::Kind::kThing, std::move(t)}; };
  const FilterInterest all{FilterInterest::Kind::kAll, {}};
  const FilterInterest none{};
  struct Case {
    const char* filter;
    FilterInterest expected;
  };
  const std::vector<Case> cases = {
      {"$aws/things/lamp/shadow/update/delta", thing("lamp")},
      {"$aws/things/lamp/shadow/get/accepted", thing("lamp")},
      {"$aws/things/lamp/shadow/name/cfg/update/documents", thing("lamp")},
      {"$aws/things/lamp/shadow/name/+/update/+", thing("lamp")},
      {"$aws/things/lamp/shadow/#", thing("lamp")},
      {"$aws/things/lamp/#", thing("lamp")},
      {"$aws/things/lamp/shadow/+/+", thing("lamp")},
      {"$aws/things/+/shadow/update/documents", all},
      {"$aws/things/+/shadow/name/+/update/delta", all},
      {"$aws/things/#", all},
      {"$aws/+/lamp/shadow/update/delta", thing("lamp")},
      {"$aws/#", all},
      {"lamp/shadow/update/delta", thing("lamp")},
      {"lamp/shadow/name/cfg/get/rejected", thing("lamp")},
      {"lamp/#", thing("lamp")},
      {"+/shadow/update/accepted", all},
      {"#", all},
      {"$share/g/$aws/things/lamp/shadow/update/delta", thing("lamp")},
      {"$share/g/+/shadow/#", all},
      // Nothing the service publishes matches these.
      {"$aws/things/lamp/shadow/update", none},       // the request topic
      {"$aws/things/lamp/shadow/update/other", none},
      {"$aws/things/lamp/jobs/notify", none},
      {"$aws/things/lamp/shadow/name/cfg/update", none},
      {"$aws/events/presence/#", none},
      {"$SYS/#", none},
      {"+/+/+/+/+", none},
      {"sensors/lamp/temperature", none},
      {"lamp/shadow/update/accepted/extra", none},
      {"$share/g", none},
  };
  for (const Case& c : cases) {
    INFO(c.filter);
    CHECK(interest_of(c.filter, true) == c.expected);
  }
  // Without the short form, only $aws filters count.
  CHECK(interest_of("#", false) == none);
  CHECK(interest_of("lamp/shadow/update/delta", false) == none);
  CHECK(interest_of("$aws/things/lamp/shadow/update/delta", false) == thing("lamp"));
  // "+/+/+/+" matches lamp/shadow/update/accepted.
  CHECK(interest_of("+/+/+/+", true) == all);
}

TEST_CASE("cluster interest: the table counts clients and filters", "[cluster]") {
  InterestTable t(true);
  auto c = t.subscribed("dev1", "$aws/things/lamp/shadow/update/delta");
  CHECK(c.things_on == std::vector<std::string>{"lamp"});
  // Same client, same filter again (a re-subscription): no change.
  CHECK(t.subscribed("dev1", "$aws/things/lamp/shadow/update/delta").empty());
  // Another filter on the same thing, and another client.
  CHECK(t.subscribed("dev1", "lamp/shadow/get/accepted").empty());
  CHECK(t.subscribed("app", "$aws/things/lamp/shadow/update/documents").empty());
  CHECK(t.subscribed("app", "sensors/lamp/temperature").empty());  // no interest
  CHECK(t.wants("lamp"));
  CHECK_FALSE(t.wants("fan"));
  CHECK(t.things() == 1);

  CHECK(t.unsubscribed("dev1", "$aws/things/lamp/shadow/update/delta").empty());
  CHECK(t.unsubscribed("dev1", "never/subscribed").empty());
  CHECK(t.client_gone("dev1").empty());  // app still wants lamp
  c = t.client_gone("app");
  CHECK(c.things_off == std::vector<std::string>{"lamp"});
  CHECK(t.things() == 0);

  // Wildcards switch the firehose on and off.
  c = t.subscribed("dash", "$aws/things/+/shadow/update/documents");
  CHECK(c.all_on);
  CHECK(t.wants("anything"));
  CHECK(t.subscribed("dash2", "#").things_on.empty());
  CHECK_FALSE(t.unsubscribed("dash", "$aws/things/+/shadow/update/documents").all_off);
  c = t.unsubscribed("dash2", "#");
  CHECK(c.all_off);
  CHECK_FALSE(t.wants_all());
  CHECK_FALSE(t.wants("anything"));
}
