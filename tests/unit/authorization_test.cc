// Per-device authorization: identity resolution, the shadow namespace, and
// the decision for topics and subscription filters.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "plugin/authz/authorization.h"

using namespace shadow::plugin;

namespace {

AuthzConfig bound(IdentitySource source = IdentitySource::kClientId) {
  AuthzConfig c;
  c.identity = source;
  return c;
}

Principal device(const std::string& thing) {
  Principal p;
  p.thing = thing;
  return p;
}

Principal admin() {
  Principal p;
  p.admin = true;
  return p;
}

Decision dev1(Access a, const std::string& t, bool short_topics = true) {
  return decide(bound(), device("dev1"), a, t, short_topics);
}

}  // namespace

TEST_CASE("authz: SDK metrics are stripped from usernames", "[authz]") {
  CHECK(strip_sdk_metrics("alice?SDK=IoTDeviceSDK/JS&Platform=Unix") == "alice");
  CHECK(strip_sdk_metrics("?SDK=JavaScript&Version=2.2.16").empty());
  CHECK(strip_sdk_metrics("bob") == "bob");
  CHECK(strip_sdk_metrics("").empty());
}

TEST_CASE("authz: glob", "[authz]") {
  CHECK(glob_match("app-*", "app-console"));
  CHECK(glob_match("app-*", "app-"));
  CHECK_FALSE(glob_match("app-*", "ap-console"));
  CHECK_FALSE(glob_match("app-*", "xapp-1"));
  CHECK(glob_match("*-admin", "fleet-admin"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
  CHECK(glob_match("exact", "exact"));
  CHECK_FALSE(glob_match("exact", "exactly"));
  // A hostile subject does not take exponential time.
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("authz: the identity source picks the thing name", "[authz]") {
  ClientFacts facts;
  facts.client_id = "dev-id";
  facts.username = "dev-user?SDK=IoTDeviceSDK/JS&Platform=Unix";
  facts.cert_cn = "dev-cn";
  CHECK_FALSE(resolve_principal(bound(IdentitySource::kNone), facts).thing.has_value());
  CHECK(resolve_principal(bound(IdentitySource::kClientId), facts).thing == "dev-id");
  CHECK(resolve_principal(bound(IdentitySource::kUsername), facts).thing == "dev-user");
  CHECK(resolve_principal(bound(IdentitySource::kCertCn), facts).thing == "dev-cn");

  facts.cert_cn.reset();  // no certificate: no thing
  CHECK_FALSE(resolve_principal(bound(IdentitySource::kCertCn), facts).thing.has_value());
  facts.username.reset();
  CHECK_FALSE(resolve_principal(bound(IdentitySource::kUsername), facts).thing.has_value());
}

TEST_CASE("authz: names that cannot be a topic level own nothing", "[authz]") {
  for (const char* bad : {"", "a/b", "+", "dev#"}) {
    ClientFacts facts;
    facts.client_id = bad;
    facts.username = bad;
    CHECK_FALSE(resolve_principal(bound(IdentitySource::kClientId), facts).thing.has_value());
    CHECK_FALSE(resolve_principal(bound(IdentitySource::kUsername), facts).thing.has_value());
  }
  ClientFacts metrics_only;
  metrics_only.username = "?SDK=JavaScript&Version=2.2.16";
  CHECK_FALSE(resolve_principal(bound(IdentitySource::kUsername), metrics_only).thing.has_value());
}

TEST_CASE("authz: admins by list or pattern, on the stripped username or the CN", "[authz]") {
  AuthzConfig c = bound(IdentitySource::kClientId);
  c.admin_usernames = {"console", "ops"};
  c.admin_pattern = "app-*";
  ClientFacts facts;
  facts.client_id = "whatever";
  facts.username = "ops?SDK=JavaScript";
  CHECK(resolve_principal(c, facts).admin);
  facts.username = "app-backend";
  CHECK(resolve_principal(c, facts).admin);
  facts.username = "dev1";
  CHECK_FALSE(resolve_principal(c, facts).admin);
  facts.username.reset();
  CHECK_FALSE(resolve_principal(c, facts).admin);

  // cert_cn mode: the username could be anything the client sent.
  c.identity = IdentitySource::kCertCn;
  facts.username = "console";
  facts.cert_cn = "dev1";
  CHECK_FALSE(resolve_principal(c, facts).admin);
  facts.cert_cn = "app-dashboard";
  CHECK(resolve_principal(c, facts).admin);
}

TEST_CASE("authz: the shadow namespace of a topic", "[authz]") {
  CHECK(namespace_thing("$aws/things/dev1/shadow/update", true) == "dev1");
  CHECK(namespace_thing("$aws/things/dev1/shadow", true) == "dev1");
  CHECK(namespace_thing("$aws/things/dev1/shadow/name/cfg/get/accepted", false) == "dev1");
  CHECK(namespace_thing("$aws/things//shadow/get", true) == "");
  CHECK_FALSE(namespace_thing("$aws/things/dev1/jobs/get", true).has_value());
  CHECK_FALSE(namespace_thing("$aws/things/dev1/shadowy", true).has_value());
  CHECK_FALSE(namespace_thing("$aws/things/dev1", true).has_value());
  CHECK(namespace_thing("dev1/shadow/update/delta", true) == "dev1");
  CHECK_FALSE(namespace_thing("dev1/shadow/update/delta", false).has_value());
  CHECK_FALSE(namespace_thing("$SYS/shadow/x", true).has_value());
  CHECK_FALSE(namespace_thing("telemetry/dev1", true).has_value());
}

TEST_CASE("authz: reserved response and event topics", "[authz]") {
  for (const char* t : {"$aws/things/d/shadow/get/accepted", "$aws/things/d/shadow/get/rejected",
                        "$aws/things/d/shadow/update/delta", "$aws/things/d/shadow/update/documents",
                        "$aws/things/d/shadow/name/s/delete/accepted", "d/shadow/update/accepted",
                        "d/shadow/name/s/update/delta"}) {
    INFO(t);
    CHECK(is_reserved_topic(t, true));
  }
  CHECK_FALSE(is_reserved_topic("d/shadow/update/accepted", false));  // short form off
  for (const char* t : {"$aws/things/d/shadow/update", "$aws/things/d/shadow/name/accepted/get",
                        "sensors/accepted", "$aws/things/accepted", "accepted/shadow"}) {
    INFO(t);
    CHECK_FALSE(is_reserved_topic(t, true));
  }
}

TEST_CASE("authz: nobody publishes to reserved topics, binding on or off", "[authz]") {
  AuthzConfig off;
  for (const char* t : {"$aws/things/dev1/shadow/update/delta", "dev1/shadow/get/accepted"}) {
    INFO(t);
    CHECK(decide(off, Principal{}, Access::kWrite, t, true) == Decision::kDeny);
    CHECK(decide(bound(), device("dev1"), Access::kWrite, t, true) == Decision::kDeny);
    CHECK(decide(bound(), admin(), Access::kWrite, t, true) == Decision::kDeny);
    // Receiving them is fine for the owner.
    CHECK(decide(bound(), device("dev1"), Access::kRead, t, true) == Decision::kAllow);
  }
  // Without binding requests and subscriptions are left to the broker.
  CHECK(decide(off, Principal{}, Access::kWrite, "$aws/things/x/shadow/update", true) ==
        Decision::kNoObjection);
  CHECK(decide(off, Principal{}, Access::kSubscribe, "$aws/things/+/shadow/#", true) ==
        Decision::kNoObjection);
}

TEST_CASE("authz: a bound device publishes and receives only its own thing's topics", "[authz]") {
  for (const char* own : {"$aws/things/dev1/shadow/update", "$aws/things/dev1/shadow/name/cfg/get",
                          "dev1/shadow/delete", "dev1/shadow/name/cfg/update"}) {
    INFO(own);
    CHECK(dev1(Access::kWrite, own) == Decision::kAllow);
    CHECK(dev1(Access::kRead, own) == Decision::kAllow);
  }
  for (const char* other : {"$aws/things/dev2/shadow/update", "$aws/things/dev2/shadow/name/cfg/get",
                            "dev2/shadow/delete", "$aws/things/dev10/shadow/get",
                            "$aws/things//shadow/get", "dev2/shadow/update/delta"}) {
    INFO(other);
    CHECK(dev1(Access::kWrite, other) == Decision::kDeny);
    CHECK(dev1(Access::kRead, other) == Decision::kDeny);
    CHECK(decide(bound(), admin(), Access::kRead, other, true) == Decision::kAllow);
  }
  // Non-shadow topics are the broker's business.
  CHECK(dev1(Access::kWrite, "telemetry/dev2") == Decision::kNoObjection);
  CHECK(dev1(Access::kWrite, "$aws/things/dev2/jobs/get") == Decision::kNoObjection);
  // With short topics off, "dev2/shadow/..." is an ordinary topic.
  CHECK(dev1(Access::kWrite, "dev2/shadow/update", false) == Decision::kNoObjection);
  // No identity: no shadow access at all.
  CHECK(decide(bound(), Principal{}, Access::kWrite, "$aws/things/dev1/shadow/get", true) ==
        Decision::kDeny);
}

TEST_CASE("authz: subscription filters of a bound device", "[authz]") {
  // Every topic the filter can match belongs to dev1.
  for (const char* f : {"$aws/things/dev1/shadow/#", "$aws/things/dev1/shadow/+/+",
                        "$aws/things/dev1/shadow/update/accepted", "$aws/things/dev1/shadow/name/+/get/#",
                        "dev1/shadow/#", "dev1/shadow/+/+", "$aws/things/dev1/shadow",
                        "$share/g/$aws/things/dev1/shadow/#"}) {
    INFO(f);
    CHECK(dev1(Access::kSubscribe, f) == Decision::kAllow);
  }
  // Only shadow topics, some of another thing: denied.
  for (const char* f : {"$aws/things/+/shadow/#", "$aws/things/dev2/shadow/#",
                        "$aws/things/+/shadow/update/delta", "$aws/things/dev2/shadow/+/+",
                        "+/shadow/#", "dev2/shadow/update/accepted", "+/shadow/name/+/get/accepted",
                        "$share/g/$aws/things/+/shadow/#", "$aws/things/+/shadow"}) {
    INFO(f);
    CHECK(dev1(Access::kSubscribe, f) == Decision::kDeny);
    CHECK(decide(bound(), admin(), Access::kSubscribe, f, true) == Decision::kAllow);
  }
  // Filters that also match non-shadow topics: the broker decides, and each
  // delivery of a foreign shadow topic is refused by the read check.
  for (const char* f : {"#", "+/#", "+/+/+", "$aws/#", "$aws/things/#", "$aws/things/+/#",
                        "$aws/things/dev1/#", "dev1/#", "$aws/+/dev2/shadow/#"}) {
    INFO(f);
    CHECK(dev1(Access::kSubscribe, f) == Decision::kNoObjection);
  }
  // Filters that cannot match any shadow topic.
  for (const char* f : {"telemetry/#", "+", "$SYS/#", "$aws/things/+/jobs/#", "a/b/shadow/#",
                        "$aws/things", "$aws/things/dev2"}) {
    INFO(f);
    CHECK(dev1(Access::kSubscribe, f) == Decision::kNoObjection);
  }
  // With short topics off, "+/shadow/#" is an ordinary filter.
  CHECK(dev1(Access::kSubscribe, "+/shadow/#", false) == Decision::kNoObjection);
  CHECK(dev1(Access::kSubscribe, "$aws/things/+/shadow/#", false) == Decision::kDeny);
  // Unsubscribing never hurts.
  CHECK(dev1(Access::kUnsubscribe, "$aws/things/+/shadow/#") == Decision::kAllow);
}

TEST_CASE("authz: the fast pre-check never misses a shadow topic or filter", "[authz]") {
  for (const char* s : {"$aws/things/dev1/shadow/update", "dev1/shadow/get", "#", "+/#", "+/+",
                        "dev1/+/x", "$share/g/#", "$aws/#"}) {
    INFO(s);
    CHECK(may_touch_shadow_namespace(s, true));
  }
  for (const char* s : {"telemetry", "telemetry/dev1/x", "$SYS/broker/uptime", "+", "a/shadowy"}) {
    INFO(s);
    CHECK_FALSE(may_touch_shadow_namespace(s, true));
  }
  CHECK_FALSE(may_touch_shadow_namespace("dev1/shadow/get", false));
}

TEST_CASE("authz: the ACL callback is wanted only for binding or when asked for", "[authz]") {
  AuthzConfig c;
  CHECK_FALSE(c.acl_check_wanted());
  c.fallback_given = true;
  CHECK(c.acl_check_wanted());
  AuthzConfig b = bound();
  CHECK(b.acl_check_wanted());
}
