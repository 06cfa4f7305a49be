// The REST API's request handling without HTTP (plugin/rest/api.h): status,
// error type and body per route; MQTT messages handed to the broker thread
// (read back by flushing the pipeline); SigV4 enforcement.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "common/sigv4.h"
#include "plugin/rest/api.h"
#include "plugin/runtime/rate_limiter.h"
#include "recording_output.h"
#include "store/memory_store.h"

using shadow::Config;
using shadow::MemoryStore;
using shadow::Service;
using shadow::auth::CredentialStore;
using shadow::runtime::Metrics;
using shadow::runtime::Pipeline;
using shadow::rest::HttpRequest;
using shadow::rest::HttpResponse;
using shadow::rest::RestApi;
using shadow::rest::RestApiOptions;

namespace {

// 2023-01-02T03:04:05Z
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1672628645));

struct Fixture {
  MemoryStore store;
  Service service{Config{}, store};
  Metrics metrics;
  Pipeline pipeline;
  CredentialStore credentials;
  RestApi api;

  explicit Fixture(bool auth = false, bool metrics_auth = true,
                   shadow::runtime::RateLimiter* limiter = nullptr)
      : pipeline(service, metrics, shadow::runtime::PipelineOptions{limiter, nullptr, nullptr}),
        api(pipeline, metrics, nullptr, options(auth, metrics_auth)) {}

  RestApiOptions options(bool auth, bool metrics_auth) {
    credentials.add("AKIDTEST", "secret");
    RestApiOptions o;
    o.credentials = auth ? &credentials : nullptr;
    o.metrics_auth = metrics_auth;
    return o;
  }

  // What the broker thread would publish and log now.
  RecordingOutput take_all() {
    RecordingOutput out;
    pipeline.flush(out);
    return out;
  }

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest r{method, target, std::move(headers), body};
    return api.handle(r, "req-1", kNow);
  }

  // Signs like botocore: host and x-amz-date.
  HttpResponse signed_call(std::string_view method, std::string_view target,
                           std::string_view body = {}, std::string secret = "secret",
                           std::string service = "iotdata") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Host", "127.0.0.1:8080"},
                                                                 {"X-Amz-Date", "20230102T030405Z"}};
    auto [path, query] = shadow::rest::split_target(target);
    shadow::auth::HttpRequestView view{method, path, query, headers, body};
    shadow::auth::SigningParams p;
    p.access_key_id = "AKIDTEST";
    p.secret_access_key = std::move(secret);
    p.region = "us-east-1";
    p.service = std::move(service);
    p.amz_date = "20230102T030405Z";
    headers.emplace_back("Authorization", shadow::auth::sign_sigv4(view, p));
    return call(method, target, body, headers);
  }
};

std::vector<std::string> queued_topics(Fixture& f) { return f.take_all().topics(); }

}  // namespace

TEST_CASE("rest api: update answers the accepted document and queues the MQTT events", "[rest]") {
  Fixture f;
  HttpResponse r = f.call("POST", "/things/t1/shadow", R"({"state":{"desired":{"a":1}}})");
  CHECK(r.status == 200);
  CHECK(r.error_type.empty());
  CHECK(r.content_type == "application/json");
  CHECK(r.body.find(R"("version":1)") != std::string::npos);
  auto topics = queued_topics(f);
  // Both topic forms (event_topics both): accepted, delta, documents.
  CHECK(std::count(topics.begin(), topics.end(), "$aws/things/t1/shadow/update/accepted") == 1);
  CHECK(std::count(topics.begin(), topics.end(), "$aws/things/t1/shadow/update/delta") == 1);
  CHECK(std::count(topics.begin(), topics.end(), "$aws/things/t1/shadow/update/documents") == 1);
  CHECK(std::count(topics.begin(), topics.end(), "t1/shadow/update/documents") == 1);

  HttpResponse g = f.call("GET", "/things/t1/shadow");
  CHECK(g.status == 200);
  CHECK(g.body.find(R"("delta":{"a":1})") != std::string::npos);
  CHECK(queued_topics(f).empty());  // a REST get publishes nothing
}

TEST_CASE("rest api: shadow errors carry the type header and publish nothing", "[rest]") {
  Fixture f;
  HttpResponse missing = f.call("GET", "/things/t1/shadow?name=cfg");
  CHECK(missing.status == 404);
  CHECK(missing.error_type == "ResourceNotFoundException");
  CHECK(missing.body == R"({"code":404,"message":"No shadow exists with name: 't1~cfg'"})");

  f.call("POST", "/things/t1/shadow", R"({"state":{"reported":{"a":1}}})");
  f.take_all();
  HttpResponse conflict = f.call("POST", "/things/t1/shadow", R"({"state":{"reported":{"a":2}},"version":7})");
  CHECK(conflict.status == 409);
  CHECK(conflict.error_type == "ConflictException");
  HttpResponse invalid = f.call("POST", "/things/t1/shadow", "{nope");
  CHECK(invalid.status == 400);
  CHECK(invalid.error_type == "InvalidRequestException");
  HttpResponse bad_name = f.call("GET", "/things/bad%20name/shadow");
  CHECK(bad_name.status == 400);
  CHECK(queued_topics(f).empty());
}

TEST_CASE("rest api: unknown route, wrong method, bad values", "[rest]") {
  Fixture f;
  HttpResponse nf = f.call("GET", "/nothing/here");
  CHECK(nf.status == 404);
  CHECK(nf.error_type == "ResourceNotFoundException");
  CHECK(nf.body == R"({"message":"Not Found","traceId":"req-1"})");
  HttpResponse wrong = f.call("PUT", "/things/t1/shadow");
  CHECK(wrong.status == 405);
  CHECK(wrong.error_type == "MethodNotAllowedException");
  HttpResponse empty_name = f.call("DELETE", "/things/t1/shadow?name=");
  CHECK(empty_name.status == 400);
  CHECK(empty_name.error_type == "InvalidRequestException");
  CHECK(f.api.transport_error(413, "r").error_type == "RequestEntityTooLargeException");
  CHECK(f.api.transport_error(413, "r").status == 413);
}

TEST_CASE("rest api: list named shadows pages through the service", "[rest]") {
  Fixture f;
  for (const char* n : {"b", "a", "c"})
    f.call("POST", std::string("/things/t1/shadow?name=") + n, R"({"state":{"reported":{"x":1}}})");
  f.call("POST", "/things/t1/shadow", R"({"state":{"reported":{"x":1}}})");
  HttpResponse first = f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/t1?pageSize=2");
  CHECK(first.status == 200);
  CHECK(first.body.find(R"("results":["a","b"])") != std::string::npos);
  CHECK(first.body.find("nextToken") != std::string::npos);
  HttpResponse bad = f.call("GET", "/api/things/shadow/ListNamedShadowsForThing/t1?pageSize=0");
  CHECK(bad.status == 400);
  CHECK(bad.error_type == "InvalidRequestException");
}

TEST_CASE("rest api: Publish to a shadow topic runs the service like MQTT", "[rest]") {
  Fixture f;
  HttpResponse r = f.call("POST", "/topics/%24aws%2Fthings%2Ft1%2Fshadow%2Fupdate?qos=1&retain=true",
                          R"({"state":{"desired":{"on":true}},"clientToken":"c1"})");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"message":"OK","traceId":"req-1"})");
  auto batch = f.take_all();
  REQUIRE(batch.messages.size() >= 3);
  // The request itself first, never retained, then the replies.
  CHECK(batch.messages[0].topic == "$aws/things/t1/shadow/update");
  CHECK(batch.messages[0].qos == 1);
  CHECK_FALSE(batch.messages[0].retain);
  CHECK(batch.messages[1].topic == "$aws/things/t1/shadow/update/accepted");
  CHECK(batch.messages[1].payload.find(R"("clientToken":"c1")") != std::string::npos);
  CHECK(f.call("GET", "/things/t1/shadow").status == 200);

  // A rejected shadow request is still 200 over HTTP; the rejection goes to MQTT.
  HttpResponse rejected = f.call("POST", "/topics/$aws/things/t1/shadow/update", "{bad");
  CHECK(rejected.status == 200);
  auto topics = queued_topics(f);
  CHECK(std::count(topics.begin(), topics.end(), "$aws/things/t1/shadow/update/rejected") == 1);
}

TEST_CASE("rest api: Publish to any other topic queues it with qos and retain", "[rest]") {
  Fixture f;
  CHECK(f.call("POST", "/topics/sensors%2Fa?retain=true", "hello").status == 200);
  auto batch = f.take_all();
  REQUIRE(batch.messages.size() == 1);
  CHECK(batch.messages[0].topic == "sensors/a");
  CHECK(batch.messages[0].payload == "hello");
  CHECK(batch.messages[0].qos == 0);
  CHECK(batch.messages[0].retain);
  std::string big(Config{}.max_payload_bytes + 1, 'x');
  HttpResponse too_big = f.call("POST", "/topics/a", big);
  CHECK(too_big.status == 413);
  CHECK(f.take_all().empty());
}

TEST_CASE("rest api: Publish to a reply or event topic is forbidden, counted, not queued",
          "[rest]") {
  Fixture f;
  for (const char* target :
       {"/topics/%24aws%2Fthings%2FB%2Fshadow%2Fupdate%2Fdelta",
        "/topics/%24aws%2Fthings%2FB%2Fshadow%2Fupdate%2Faccepted?retain=true",
        "/topics/%24aws%2Fthings%2FB%2Fshadow%2Fname%2Fn%2Fget%2Frejected",
        "/topics/B%2Fshadow%2Fupdate%2Fdocuments"}) {
    INFO(target);
    HttpResponse r = f.call("POST", target, R"({"state":{"desired":{"x":1}}})");
    CHECK(r.status == 403);
    CHECK(r.error_type == "ForbiddenException");
    CHECK(r.body.find("only the shadow service publishes") != std::string::npos);
    CHECK(r.body.find(R"("traceId":"req-1")") != std::string::npos);
  }
  CHECK(f.take_all().empty());
  std::string metrics = f.call("GET", "/metrics").body;
  CHECK(metrics.find(R"(shadow_acl_denied_total{access="publish"} 4)") != std::string::npos);
  CHECK(metrics.find(R"(shadow_requests_total{channel="rest",operation="publish",code="403"} 4)") !=
        std::string::npos);
  // Request topics and look-alikes outside the shadow namespace still go.
  CHECK(f.call("POST", "/topics/%24aws%2Fthings%2FB%2Fshadow%2Fget", "{}").status == 200);
  CHECK(f.call("POST", "/topics/plain%2FB%2Fupdate%2Faccepted", "x").status == 200);
}

TEST_CASE("rest api: a signature does not replay to a path with dot or empty segments", "[rest]") {
  Fixture f(/*auth=*/true);
  // Signed for one topic, sent for paths the canonical URI reduces to it.
  std::vector<std::pair<std::string, std::string>> headers = {{"Host", "127.0.0.1:8080"},
                                                              {"X-Amz-Date", "20230102T030405Z"}};
  shadow::auth::HttpRequestView view{"POST", "/topics/sensors%2Fdev1", "", headers, "x"};
  shadow::auth::SigningParams p;
  p.access_key_id = "AKIDTEST";
  p.secret_access_key = "secret";
  p.region = "us-east-1";
  p.service = "iotdata";
  p.amz_date = "20230102T030405Z";
  headers.emplace_back("Authorization", shadow::auth::sign_sigv4(view, p));
  CHECK(f.call("POST", "/topics/sensors%2Fdev1", "x", headers).status == 200);
  f.take_all();
  for (const char* replay : {"/topics/sensors%2Fdev1/.", "/topics/x/../sensors%2Fdev1",
                             "/topics//sensors%2Fdev1", "/topics/%2E/sensors%2Fdev1"}) {
    INFO(replay);
    HttpResponse r = f.call("POST", replay, "x", headers);
    CHECK(r.status == 400);
    CHECK(r.error_type == "InvalidRequestException");
  }
  CHECK(f.take_all().empty());
  // Refused before the signature check too: an unsigned one gets the same.
  CHECK(f.call("GET", "/healthz/.").status == 400);
}

TEST_CASE("rest api: over the per-thing rate limit, 429 ThrottlingException and no MQTT",
          "[rest][ratelimit]") {
  // A rate of 2 per second: the test runs well within a second, so each
  // thing's bucket holds 2 tokens for the whole test (refill adds < 1).
  shadow::runtime::RateLimiter limiter(2);
  Fixture f(false, true, &limiter);
  CHECK(f.call("POST", "/things/t1/shadow", R"({"state":{"desired":{"a":1}}})").status == 200);
  CHECK(f.call("GET", "/things/t1/shadow").status == 200);
  f.take_all();

  HttpResponse r = f.call("POST", "/things/t1/shadow", R"({"state":{"desired":{"a":2}}})");
  CHECK(r.status == 429);
  CHECK(r.error_type == "ThrottlingException");
  CHECK(r.body == R"({"code":429,"message":"Too Many Requests"})");
  CHECK(f.take_all().empty());
  CHECK(f.call("DELETE", "/things/t1/shadow").status == 429);
  // Publish to a shadow request topic of the same thing: refused, and
  // neither the request nor any reply reaches MQTT.
  HttpResponse p = f.call("POST", "/topics/%24aws%2Fthings%2Ft1%2Fshadow%2Fupdate",
                          R"({"state":{"desired":{"a":3}}})");
  CHECK(p.status == 429);
  CHECK(p.error_type == "ThrottlingException");
  CHECK(f.take_all().empty());
  // Nothing of the throttled requests was applied.
  auto doc = f.service.handle_mqtt("$aws/things/t1/shadow/get", "", 0);
  REQUIRE(doc);
  REQUIRE_FALSE(doc->messages.empty());
  CHECK(doc->messages[0].payload.find(R"("version":1)") != std::string::npos);

  // Another thing, and topics outside the shadow namespace, are not affected.
  CHECK(f.call("GET", "/things/t2/shadow").status == 404);
  CHECK(f.call("POST", "/topics/sensors%2Ft1", "x").status == 200);
  CHECK(f.call("POST", "/topics/sensors%2Ft1", "x").status == 200);
  CHECK(f.call("POST", "/topics/sensors%2Ft1", "x").status == 200);
}

TEST_CASE("rest api: SigV4 is required except for /healthz", "[rest]") {
  Fixture f(/*auth=*/true);
  HttpResponse unsigned_get = f.call("GET", "/things/t1/shadow");
  CHECK(unsigned_get.status == 403);
  CHECK(unsigned_get.error_type == "ForbiddenException");
  CHECK(unsigned_get.body.find(R"("traceId":"req-1")") != std::string::npos);
  CHECK(f.call("GET", "/healthz").status == 200);
  CHECK(f.call("GET", "/metrics").status == 403);
  CHECK(f.call("GET", "/no/such/route").status == 403);

  CHECK(f.signed_call("POST", "/things/t1/shadow", R"({"state":{"reported":{"a":1}}})").status == 200);
  CHECK(f.signed_call("GET", "/things/t1/shadow?name=x").status == 404);
  CHECK(f.signed_call("GET", "/things/t1/shadow", {}, "wrong").status == 403);
  HttpResponse metrics = f.signed_call("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.content_type.find("text/plain") == 0);
  CHECK(metrics.body.find(R"(shadow_requests_total{channel="rest",operation="update",code="200"} 1)") !=
        std::string::npos);
  CHECK(metrics.body.find("shadow_rest_auth_denied_total 4") != std::string::npos);
}

TEST_CASE("rest api: /healthz reports the store's health", "[rest]") {
  MemoryStore store;
  Service service{Config{}, store};
  Metrics metrics;
  Pipeline pipeline(service, metrics, {});
  CredentialStore credentials;
  credentials.add("AKIDTEST", "secret");
  shadow::Status health = shadow::Status::ok();
  RestApiOptions o;
  o.credentials = &credentials;  // /healthz needs no signature all the same
  o.health = [&health] { return health; };
  RestApi api(pipeline, metrics, nullptr, o);
  auto healthz = [&] { return api.handle(HttpRequest{"GET", "/healthz", {}, {}}, "req-1", kNow); };

  HttpResponse ok = healthz();
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"status":"ok"})");

  health = shadow::Status::unavailable("the shadow database failed: IO error: \"Too many open files\"");
  HttpResponse failed = healthz();
  CHECK(failed.status == 503);
  CHECK(failed.error_type == "ServiceUnavailableException");
  CHECK(failed.content_type == "application/json");
  CHECK(failed.body ==
        R"({"status":"unavailable","reason":"the shadow database failed: IO error: \"Too many open files\""})");

  health = shadow::Status::ok();
  CHECK(healthz().status == 200);
}

TEST_CASE("rest api: /metrics may be left open", "[rest]") {
  Fixture f(/*auth=*/true, /*metrics_auth=*/false);
  CHECK(f.call("GET", "/metrics").status == 200);
  CHECK(f.call("GET", "/things/t1/shadow").status == 403);
}

TEST_CASE("rest api: /api/shadows lists every shadow, signed, with its own metric", "[rest]") {
  Fixture f(/*auth=*/true);
  for (const char* target : {"/things/t2/shadow", "/things/t1/shadow?name=n", "/things/t1/shadow"})
    REQUIRE(f.signed_call("POST", target, R"({"state":{"reported":{"x":1}}})").status == 200);

  CHECK(f.call("GET", "/api/shadows").status == 403);
  HttpResponse first = f.signed_call("GET", "/api/shadows?pageSize=2");
  CHECK(first.status == 200);
  CHECK(first.body.find(R"({"results":[{"thingName":"t1"},{"thingName":"t1","shadowName":"n"}],)"
                        R"("nextToken":")") == 0);
  auto pos = first.body.find(R"("nextToken":")") + 13;
  std::string token = first.body.substr(pos, first.body.find('"', pos) - pos);
  HttpResponse second = f.signed_call("GET", "/api/shadows?nextToken=" + token + "&pageSize=2");
  CHECK(second.status == 200);
  CHECK(second.body.find(R"({"results":[{"thingName":"t2"}],"timestamp":)") == 0);

  HttpResponse bad = f.signed_call("GET", "/api/shadows?pageSize=1001");
  CHECK(bad.status == 400);
  CHECK(bad.error_type == "InvalidRequestException");
  CHECK(bad.body == R"({"code":400,"message":"pageSize must be between 1 and 1000"})");
  CHECK(f.signed_call("GET", "/api/shadows?nextToken=%21").status == 400);
  CHECK(f.signed_call("POST", "/api/shadows").status == 405);

  std::string metrics = f.signed_call("GET", "/metrics").body;
  CHECK(metrics.find(R"(shadow_requests_total{channel="rest",operation="list_all",code="200"} 2)") !=
        std::string::npos);
  CHECK(metrics.find(R"(shadow_requests_total{channel="rest",operation="list_all",code="400"} 2)") !=
        std::string::npos);
  CHECK(metrics.find(R"(shadow_requests_total{channel="rest",operation="list_all",code="403"} 1)") !=
        std::string::npos);
}

namespace {

// A control-plane extension answering every path under /rules.
struct RulesLike final : shadow::rest::RestExtension {
  std::string seen_key;
  bool serves(std::string_view path) const override { return path.starts_with("/rules"); }
  HttpResponse handle(const HttpRequest& request, const shadow::rest::RequestContext& context) override {
    seen_key = context.access_key_id;
    if (request.method != "GET") return shadow::rest::control_plane_error(405, "MethodNotAllowedException", "no");
    HttpResponse r;
    r.body = R"({"rules":[]})";
    return r;
  }
};

}  // namespace

TEST_CASE("rest api: extensions get the requests no iot-data route takes, signed for their service",
          "[rest]") {
  Fixture f(/*auth=*/true);
  RulesLike rules;
  f.api.add_extension(&rules);
  HttpResponse ok = f.signed_call("GET", "/rules", {}, "secret", "execute-api");
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"rules":[]})");
  CHECK(rules.seen_key == "AKIDTEST");
  // Signed for the data plane: not valid for a control-plane route, and the other way round.
  CHECK(f.signed_call("GET", "/rules").status == 403);
  CHECK(f.signed_call("GET", "/things/t1/shadow", {}, "secret", "execute-api").status == 403);
  HttpResponse wrong = f.signed_call("POST", "/rules/r1", {}, "secret", "execute-api");
  CHECK(wrong.status == 405);
  CHECK(wrong.error_type == "MethodNotAllowedException");
  CHECK(wrong.body == R"({"message":"no"})");
  // A path no one serves is still a 404.
  CHECK(f.signed_call("GET", "/other").status == 404);
}
