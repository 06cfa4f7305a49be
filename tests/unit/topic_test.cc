#include <catch2/catch.hpp>

#include "shadow_core/topic.h"

using namespace shadow;

TEST_CASE("request topics parse in both forms", "[topic]") {
  auto t = parse_request_topic("$aws/things/dev1/shadow/update", true);
  REQUIRE(t);
  CHECK(t->id.thing == "dev1");
  CHECK(t->id.shadow.empty());
  CHECK(t->op == Operation::kUpdate);
  CHECK(t->form == TopicForm::kAws);

  t = parse_request_topic("dev1/shadow/name/cfg/get", true);
  REQUIRE(t);
  CHECK(t->id.thing == "dev1");
  CHECK(t->id.shadow == "cfg");
  CHECK(t->op == Operation::kGet);
  CHECK(t->form == TopicForm::kShort);

  // "name" is an ordinary thing name; a shadow may be called "update".
  t = parse_request_topic("$aws/things/name/shadow/delete", true);
  REQUIRE(t);
  CHECK(t->id.thing == "name");
  CHECK(t->op == Operation::kDelete);
  t = parse_request_topic("$aws/things/t/shadow/name/update/update", true);
  REQUIRE(t);
  CHECK(t->id.shadow == "update");
  CHECK(t->op == Operation::kUpdate);
}

TEST_CASE("responses, events and other topics are not requests", "[topic]") {
  for (const char* topic : {
           "$aws/things/dev1/shadow/update/accepted", "$aws/things/dev1/shadow/update/delta",
           "$aws/things/dev1/shadow/update/", "$aws/things/dev1/shadow", "$aws/things/dev1/shadow/",
           "$aws/things/dev1/shadow/name/cfg", "$aws/things/dev1/shadow/name/cfg/update/accepted",
           "$aws/things/dev1/shadow/list", "$aws/things/dev1/notshadow/get", "$aws/events/x/shadow/get",
           "$SYS/x/shadow/get", "$aws/x/shadow/get", "", "/", "a/b/c/d/e/f/g", "dev1/shadow/nam/cfg/get",
       }) {
    INFO(topic);
    CHECK_FALSE(parse_request_topic(topic, true));
  }
}

TEST_CASE("the short form can be switched off", "[topic]") {
  CHECK_FALSE(parse_request_topic("dev1/shadow/update", false));
  CHECK(parse_request_topic("$aws/things/dev1/shadow/update", false));
}

TEST_CASE("empty levels give empty names for the caller to reject", "[topic]") {
  auto t = parse_request_topic("$aws/things//shadow/update", true);
  REQUIRE(t);
  CHECK(t->id.thing.empty());
  // An empty shadow level would address the classic shadow: not a request.
  CHECK_FALSE(parse_request_topic("$aws/things/dev1/shadow/name//get", true));
}

TEST_CASE("reply topics follow the requested form", "[topic]") {
  ShadowId classic{"dev1", ""};
  ShadowId named{"dev1", "cfg"};
  CHECK(reply_topic(classic, TopicForm::kAws, Operation::kUpdate, "accepted") ==
        "$aws/things/dev1/shadow/update/accepted");
  CHECK(reply_topic(named, TopicForm::kShort, Operation::kGet, "rejected") == "dev1/shadow/name/cfg/get/rejected");
  CHECK(shadow_prefix(named, TopicForm::kAws) == "$aws/things/dev1/shadow/name/cfg");
}

TEST_CASE("request topic pre-check: passes every request topic form", "[topic]") {
  for (const char* t : {"$aws/things/dev1/shadow/get", "$aws/things/dev1/shadow/update",
                        "$aws/things/dev1/shadow/delete", "$aws/things/d/shadow/name/s/update",
                        "$aws/things//shadow/get", "$aws/things/name/shadow/update"}) {
    INFO(t);
    CHECK(may_be_request_topic(t, true));
    CHECK(may_be_request_topic(t, false));
  }
  for (const char* t : {"dev1/shadow/get", "dev1/shadow/name/s/delete", "/shadow/update"}) {
    INFO(t);
    CHECK(may_be_request_topic(t, true));
    CHECK_FALSE(may_be_request_topic(t, false));
  }
}

TEST_CASE("request topic pre-check: rejects topics that cannot be requests", "[topic]") {
  for (const char* t : {"sensors/temp", "$aws/things/dev1/shadow/update/accepted",
                        "$aws/things/dev1/shadow/update/delta", "dev1/shadow", "shadow/get",
                        "dev1/shadowx/get", "", "$SYS/broker/uptime"}) {
    INFO(t);
    CHECK_FALSE(may_be_request_topic(t, true));
  }
}
