// REST routes: percent-decoding, query parsing and which operation a method
// and target name (plugin/rest/routes.h).
#include <catch2/catch.hpp>

#include <string>

#include "plugin/rest/routes.h"

using shadow::rest::find_param;
using shadow::rest::parse_query;
using shadow::rest::percent_decode;
using shadow::rest::Route;
using shadow::rest::route_request;
using shadow::rest::RouteKind;
using shadow::rest::split_target;

TEST_CASE("rest percent_decode: escapes, literals and bad escapes", "[rest]") {
  CHECK(percent_decode("%24aws%2Fthings%2Fx").value() == "$aws/things/x");
  CHECK(percent_decode("a%20b+c").value() == "a b+c");  // '+' is not a space here
  CHECK(percent_decode("%e2%82%AC").value() == "\xE2\x82\xAC");
  CHECK(percent_decode("").value().empty());
  CHECK(percent_decode("%00").value() == std::string(1, '\0'));
  for (const char* bad : {"%", "%2", "a%zz", "%2G", "abc%"}) {
    INFO(bad);
    CHECK_FALSE(percent_decode(bad).has_value());
  }
}

TEST_CASE("rest split_target and parse_query", "[rest]") {
  auto [path, query] = split_target("/things/t/shadow?name=a&x=%2F");
  CHECK(path == "/things/t/shadow");
  CHECK(query == "name=a&x=%2F");
  CHECK(split_target("/healthz").second.empty());

  auto q = parse_query("a=1&&b=%2F&c&a=2");
  REQUIRE(q.has_value());
  CHECK(q->size() == 4);
  CHECK(find_param(*q, "a").value() == "1");  // the first one wins
  CHECK(find_param(*q, "b").value() == "/");
  CHECK(find_param(*q, "c").value().empty());
  CHECK_FALSE(find_param(*q, "d").has_value());
  CHECK_FALSE(parse_query("a=%G1").has_value());
}

TEST_CASE("rest routes: shadow operations by method", "[rest]") {
  CHECK(route_request("GET", "/things/t1/shadow").kind == RouteKind::kGetShadow);
  CHECK(route_request("POST", "/things/t1/shadow").kind == RouteKind::kUpdateShadow);
  CHECK(route_request("DELETE", "/things/t1/shadow").kind == RouteKind::kDeleteShadow);
  for (const char* m : {"PUT", "PATCH", "HEAD", "OPTIONS"}) {
    INFO(m);
    CHECK(route_request(m, "/things/t1/shadow").kind == RouteKind::kMethodNotAllowed);
  }
  Route classic = route_request("GET", "/things/t%3A1/shadow");
  CHECK(classic.thing == "t:1");
  CHECK(classic.shadow.empty());
  Route named = route_request("POST", "/things/t1/shadow?name=cfg%2D1");
  CHECK(named.thing == "t1");
  CHECK(named.shadow == "cfg-1");
}

TEST_CASE("rest routes: bad values on shadow routes are 400", "[rest]") {
  Route empty_name = route_request("GET", "/things/t1/shadow?name=");
  CHECK(empty_name.kind == RouteKind::kBadRequest);
  CHECK(empty_name.error.find("shadow name") != std::string::npos);
  CHECK(route_request("GET", "/things/t%zz/shadow").kind == RouteKind::kBadRequest);
  CHECK(route_request("GET", "/things/t1/shadow?name=%").kind == RouteKind::kBadRequest);
}

TEST_CASE("rest routes: unknown paths are 404", "[rest]") {
  for (const char* target : {"/", "/things", "/things/t1", "/things/t1/shadow/", "/things/a/b/shadow",
                             "/things/t1/shadows", "/api/things/shadow/ListNamedShadowsForThing/",
                             "/api/things/shadow/ListNamedShadowsForThing/t/x", "/topics",
                             "/healthz/", "/metricsx", "//things/t/shadow", "/things//shadow"}) {
    INFO(target);
    CHECK(route_request("GET", target).kind == RouteKind::kNotFound);
  }
}

TEST_CASE("rest routes: ListNamedShadowsForThing passes raw paging values", "[rest]") {
  Route r = route_request("GET", "/api/things/shadow/ListNamedShadowsForThing/t1?nextToken=YWI%3D&pageSize=5");
  CHECK(r.kind == RouteKind::kListNamedShadows);
  CHECK(r.thing == "t1");
  CHECK(r.page_size.value() == "5");
  CHECK(r.next_token.value() == "YWI=");
  Route plain = route_request("GET", "/api/things/shadow/ListNamedShadowsForThing/t1");
  CHECK_FALSE(plain.page_size.has_value());
  CHECK_FALSE(plain.next_token.has_value());
  CHECK(route_request("POST", "/api/things/shadow/ListNamedShadowsForThing/t1").kind ==
        RouteKind::kMethodNotAllowed);
}

TEST_CASE("rest routes: Publish decodes one segment or literal slashes alike", "[rest]") {
  Route encoded = route_request("POST", "/topics/%24aws%2Fthings%2Ft1%2Fshadow%2Fupdate?qos=1");
  CHECK(encoded.kind == RouteKind::kPublish);
  CHECK(encoded.topic == "$aws/things/t1/shadow/update");
  CHECK(encoded.qos == 1);
  CHECK_FALSE(encoded.retain);
  Route literal = route_request("POST", "/topics/$aws/things/t1/shadow/update");
  CHECK(literal.topic == encoded.topic);
  CHECK(literal.qos == 0);
  Route retained = route_request("POST", "/topics/a%20b?retain=true&qos=0");
  CHECK(retained.topic == "a b");
  CHECK(retained.retain);
  CHECK(route_request("GET", "/topics/a").kind == RouteKind::kMethodNotAllowed);
}

TEST_CASE("rest routes: Publish rejects bad topics and parameters", "[rest]") {
  for (const char* target : {"/topics/", "/topics/a%2", "/topics/a%2B", "/topics/a/%23", "/topics/%00",
                             "/topics/%FF", "/topics/a?qos=2", "/topics/a?qos=-1", "/topics/a?qos=",
                             "/topics/a?retain=yes", "/topics/a?qos=%"}) {
    INFO(target);
    Route r = route_request("POST", target);
    CHECK(r.kind == RouteKind::kBadRequest);
    CHECK_FALSE(r.error.empty());
  }
}

TEST_CASE("rest routes: health and metrics take GET and HEAD only", "[rest]") {
  CHECK(route_request("GET", "/healthz").kind == RouteKind::kHealth);
  CHECK(route_request("HEAD", "/healthz").kind == RouteKind::kHealth);
  CHECK(route_request("GET", "/metrics?x=1").kind == RouteKind::kMetrics);
  CHECK(route_request("POST", "/metrics").kind == RouteKind::kMethodNotAllowed);
  CHECK(route_request("DELETE", "/healthz").kind == RouteKind::kMethodNotAllowed);
}

TEST_CASE("rest routes: /api/shadows (our extension) takes GET with paging values", "[rest]") {
  Route r = route_request("GET", "/api/shadows?pageSize=500&nextToken=YWI%3D");
  CHECK(r.kind == RouteKind::kListShadows);
  CHECK(r.thing.empty());
  CHECK(r.page_size.value() == "500");
  CHECK(r.next_token.value() == "YWI=");
  Route plain = route_request("GET", "/api/shadows");
  CHECK(plain.kind == RouteKind::kListShadows);
  CHECK_FALSE(plain.page_size.has_value());
  CHECK_FALSE(plain.next_token.has_value());
  CHECK(std::string(operation_label(RouteKind::kListShadows)) == "list_all");
  for (const char* m : {"POST", "DELETE", "PUT", "HEAD"})
    CHECK(route_request(m, "/api/shadows").kind == RouteKind::kMethodNotAllowed);
  for (const char* target : {"/api/shadows/", "/api/shadows/x", "/api/shadowsx", "/api/shadow"})
    CHECK(route_request("GET", target).kind == RouteKind::kNotFound);
  CHECK(route_request("GET", "/api/shadows?pageSize=%").kind == RouteKind::kBadRequest);
}

TEST_CASE("rest path_problem: dot and empty segments, literal or encoded, are refused", "[rest]") {
  using shadow::rest::path_problem;
  for (const char* fine : {"/", "/healthz", "/things/t/shadow", "/topics/a%2Fb", "/topics/a/b/",
                           "/topics/v1.2/..x/...", "/topics/a%2F..%2Fb", "/topics/%2E%2E%2E",
                           "/topics/%ZZ"}) {
    INFO(fine);
    CHECK(path_problem(fine).empty());
  }
  for (const char* bad : {"/topics/a/.", "/topics/a/./", "/topics/x/../a", "/topics/..",
                          "/./topics/a", "/topics//a", "/topics/a//", "//", "/topics/%2E",
                          "/topics/%2e%2E/a", "/topics/.%2E", "", "topics/a", "*"}) {
    INFO(bad);
    CHECK_FALSE(path_problem(bad).empty());
  }
}
