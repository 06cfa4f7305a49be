// Metrics: counters and histograms rendered in the Prometheus text format
// (plugin/runtime/metrics.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "plugin/runtime/metrics.h"

using shadow::runtime::MetricChannel;
using shadow::runtime::MetricOp;
using shadow::runtime::Metrics;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_CASE("rest metrics: requests are counted by channel, operation and code", "[rest]") {
  Metrics m;
  m.count_request(MetricChannel::kMqtt, MetricOp::kUpdate, 200, 300us);
  m.count_request(MetricChannel::kMqtt, MetricOp::kUpdate, 200, 2ms);
  m.count_request(MetricChannel::kRest, MetricOp::kGet, 404, 50us);
  m.count_request(MetricChannel::kRest, MetricOp::kPublish, 418, 5s);  // an unlisted code
  std::string text = m.render({});
  CHECK(has_line(text, R"(shadow_requests_total{channel="mqtt",operation="update",code="200"} 2)"));
  CHECK(has_line(text, R"(shadow_requests_total{channel="rest",operation="get",code="404"} 1)"));
  CHECK(has_line(text, R"(shadow_requests_total{channel="rest",operation="publish",code="other"} 1)"));
  // Series without requests are not written.
  CHECK(text.find(R"(operation="delete")") == std::string::npos);
  CHECK(has_line(text, "# TYPE shadow_requests_total counter"));
}

TEST_CASE("rest metrics: latency histogram is cumulative with matching count", "[rest]") {
  Metrics m;
  m.count_request(MetricChannel::kMqtt, MetricOp::kGet, 200, 50us);   // <= 0.0001
  m.count_request(MetricChannel::kMqtt, MetricOp::kGet, 200, 300us);  // <= 0.0005
  m.count_request(MetricChannel::kMqtt, MetricOp::kGet, 200, 2s);     // +Inf only
  std::string text = m.render({});
  CHECK(has_line(text, "# TYPE shadow_request_duration_seconds histogram"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_bucket{channel="mqtt",le="0.0001"} 1)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_bucket{channel="mqtt",le="0.00025"} 1)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_bucket{channel="mqtt",le="0.0005"} 2)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_bucket{channel="mqtt",le="1"} 2)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_bucket{channel="mqtt",le="+Inf"} 3)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_count{channel="mqtt"} 3)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_sum{channel="mqtt"} 2.00035)"));
  CHECK(has_line(text, R"(shadow_request_duration_seconds_count{channel="rest"} 0)"));
}

TEST_CASE("rest metrics: gauges and other counters", "[rest]") {
  Metrics m;
  m.count_auth_denied();
  m.count_auth_denied();
  m.count_http_unrouted(404);
  m.count_publish_failure();
  m.count_queued_published(7);
  m.count_acl_denied(Metrics::AclKind::kSubscribe);
  m.http_connection_opened();
  m.http_connection_opened();
  m.http_connection_closed();
  m.count_http_refused(Metrics::HttpLimit::kPerAddress);
  m.count_http_timeout(Metrics::HttpStage::kHead);
  m.count_http_timeout(Metrics::HttpStage::kHead);
  m.count_http_unrouted(431);
  Metrics::Gauges g;
  g.shadows_estimate = 12;
  g.db_size_bytes = 4096;
  g.queue_depth = 3;
  g.write_retries = 5;
  g.write_gave_up = 1;
  std::string text = m.render(g);
  CHECK(has_line(text, "shadow_write_conflict_retries_total 5"));
  CHECK(has_line(text, "shadow_write_conflict_failures_total 1"));
  CHECK(has_line(text, "shadow_rest_auth_denied_total 2"));
  CHECK(has_line(text, R"(shadow_http_unrouted_total{code="404"} 1)"));
  CHECK(has_line(text, "shadow_mqtt_publish_failures_total 1"));
  CHECK(has_line(text, "shadow_rest_mqtt_messages_total 7"));
  CHECK(has_line(text, R"(shadow_acl_denied_total{access="subscribe"} 1)"));
  CHECK(has_line(text, R"(shadow_acl_denied_total{access="publish"} 0)"));
  CHECK(has_line(text, R"(shadow_http_unrouted_total{code="431"} 1)"));
  CHECK(has_line(text, "shadow_http_connections 1"));
  CHECK(has_line(text, "# TYPE shadow_http_connections gauge"));
  CHECK(has_line(text, R"(shadow_http_connections_refused_total{limit="total"} 0)"));
  CHECK(has_line(text, R"(shadow_http_connections_refused_total{limit="per_ip"} 1)"));
  CHECK(has_line(text, R"(shadow_http_timeouts_total{stage="head"} 2)"));
  CHECK(has_line(text, R"(shadow_http_timeouts_total{stage="body"} 0)"));
  CHECK(has_line(text, R"(shadow_http_timeouts_total{stage="write"} 0)"));
  CHECK(has_line(text, "shadow_publish_queue_depth 3"));
  CHECK(has_line(text, "shadow_stored_shadows_estimate 12"));
  CHECK(has_line(text, "shadow_db_size_bytes 4096"));
  CHECK(has_line(text, "# TYPE shadow_db_size_bytes gauge"));
  // Every metric has HELP and TYPE, and the text ends with a newline.
  CHECK(text.back() == '\n');
  size_t helps = 0, types = 0;
  for (size_t p = 0; (p = text.find("# HELP ", p)) != std::string::npos; p++) helps++;
  for (size_t p = 0; (p = text.find("# TYPE ", p)) != std::string::npos; p++) types++;
  CHECK(helps == 15);
  CHECK(types == 15);
}
