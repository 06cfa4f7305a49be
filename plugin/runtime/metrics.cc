#include "plugin/runtime/metrics.h"

#include <cstdio>

namespace shadow::runtime {
namespace {

constexpr const char* kChannelNames[] = {"mqtt", "rest", "service"};
constexpr const char* kOpNames[] = {"get", "update", "delete", "list", "publish", "list_all"};

std::string code_label(int code) { return code == 0 ? "other" : std::to_string(code); }

// Prometheus floats: "0.00025", "1", "+Inf".
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void gauge(std::string& out, const char* name, const char* help, uint64_t value) {
  header(out, name, "gauge", help);
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

uint64_t load(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

size_t Metrics::code_index(int status) {
  for (size_t i = 0; i + 1 < kCodes.size(); i++)
    if (kCodes[i] == status) return i;
  return kCodes.size() - 1;  // "other"
}

void Metrics::count_request(MetricChannel channel, MetricOp op, int status,
                            std::chrono::nanoseconds latency) {
  auto ch = static_cast<size_t>(channel);
  requests_[ch][static_cast<size_t>(op)][code_index(status)].fetch_add(1, std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(latency).count();
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) b++;
  latency_buckets_[ch][b].fetch_add(1, std::memory_order_relaxed);
  auto ns = latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  latency_sum_ns_[ch].fetch_add(ns, std::memory_order_relaxed);
}

void Metrics::count_http_unrouted(int status) {
  http_unrouted_[code_index(status)].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render(const Gauges& gauges) const {
  std::string out;

  header(out, "shadow_requests_total", "counter",
         "Shadow requests answered, by channel, operation and status code.");
  for (size_t ch = 0; ch < kChannels; ch++) {
    for (size_t op = 0; op < kOps; op++) {
      for (size_t c = 0; c < kCodes.size(); c++) {
        uint64_t n = load(requests_[ch][op][c]);
        if (n == 0) continue;  // a series appears with its first request
        out.append("shadow_requests_total{channel=\"").append(kChannelNames[ch])
            .append("\",operation=\"").append(kOpNames[op])
            .append("\",code=\"").append(code_label(kCodes[c]))
            .append("\"} ").append(std::to_string(n)).append("\n");
      }
    }
  }

  header(out, "shadow_request_duration_seconds", "histogram",
         "Time the plugin spent on a shadow request (engine and database), by channel.");
  for (size_t ch = 0; ch < kChannels; ch++) {
    std::string labels = std::string("channel=\"") + kChannelNames[ch] + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); b++) {
      cumulative += load(latency_buckets_[ch][b]);
      std::string le = b < kBuckets.size() ? number(kBuckets[b]) : "+Inf";
      out.append("shadow_request_duration_seconds_bucket{").append(labels)
          .append(",le=\"").append(le).append("\"} ").append(std::to_string(cumulative))
          .append("\n");
    }
    double sum = static_cast<double>(load(latency_sum_ns_[ch])) / 1e9;
    out.append("shadow_request_duration_seconds_sum{").append(labels).append("} ")
        .append(number(sum)).append("\n");
    // The count is the +Inf bucket, so the two always agree.
    out.append("shadow_request_duration_seconds_count{").append(labels).append("} ")
        .append(std::to_string(cumulative)).append("\n");
  }

  header(out, "shadow_http_unrouted_total", "counter",
         "HTTP responses that named no operation (unknown route, wrong method, malformed "
         "request, body too large), by status code.");
  for (size_t c = 0; c < kCodes.size(); c++) {
    uint64_t n = load(http_unrouted_[c]);
    if (n == 0) continue;
    out.append("shadow_http_unrouted_total{code=\"").append(code_label(kCodes[c]))
        .append("\"} ").append(std::to_string(n)).append("\n");
  }

  gauge(out, "shadow_http_connections", "HTTP connections open now.", load(http_open_));
  header(out, "shadow_http_connections_refused_total", "counter",
         "HTTP connections closed right after accept because a connection limit was reached "
         "(plugin_opt_http_max_connections, plugin_opt_http_max_connections_per_ip).");
  const char* limits[] = {"total", "per_ip"};
  for (size_t i = 0; i < http_refused_.size(); i++) {
    out.append("shadow_http_connections_refused_total{limit=\"").append(limits[i]).append("\"} ")
        .append(std::to_string(load(http_refused_[i]))).append("\n");
  }
  header(out, "shadow_http_timeouts_total", "counter",
         "HTTP connections closed because the request head, the body or the response did not "
         "get through in time (plugin_opt_http_head_timeout_s).");
  const char* stages[] = {"head", "body", "write"};
  for (size_t i = 0; i < http_timeouts_.size(); i++) {
    out.append("shadow_http_timeouts_total{stage=\"").append(stages[i]).append("\"} ")
        .append(std::to_string(load(http_timeouts_[i]))).append("\n");
  }

  header(out, "shadow_rest_auth_denied_total", "counter",
         "REST requests refused because their signature did not verify.");
  out.append("shadow_rest_auth_denied_total ").append(std::to_string(load(auth_denied_))).append("\n");

  header(out, "shadow_acl_denied_total", "counter",
         "MQTT publishes, subscriptions and deliveries refused by per-device authorization.");
  const char* acl_kinds[] = {"publish", "subscribe", "receive"};
  for (size_t k = 0; k < acl_denied_.size(); k++) {
    out.append("shadow_acl_denied_total{access=\"").append(acl_kinds[k]).append("\"} ")
        .append(std::to_string(load(acl_denied_[k]))).append("\n");
  }

  header(out, "shadow_mqtt_publish_failures_total", "counter",
         "MQTT messages the broker refused to publish.");
  out.append("shadow_mqtt_publish_failures_total ")
      .append(std::to_string(load(publish_failures_))).append("\n");

  header(out, "shadow_rest_mqtt_messages_total", "counter",
         "MQTT messages published on behalf of REST requests (events and Publish).");
  out.append("shadow_rest_mqtt_messages_total ")
      .append(std::to_string(load(queued_published_))).append("\n");

  gauge(out, "shadow_publish_queue_depth",
        "MQTT messages from REST requests waiting for the broker thread.", gauges.queue_depth);
  gauge(out, "shadow_stored_shadows_estimate",
        "RocksDB's estimate of stored shadows, deleted-shadow tombstones included.",
        gauges.shadows_estimate);
  gauge(out, "shadow_db_size_bytes", "Approximate size of the shadow database on disk.",
        gauges.db_size_bytes);

  header(out, "shadow_write_conflict_retries_total", "counter",
         "Writes recomputed because another process changed the shadow first (shared stores).");
  out.append("shadow_write_conflict_retries_total ").append(std::to_string(gauges.write_retries))
      .append("\n");
  header(out, "shadow_write_conflict_failures_total", "counter",
         "Writes answered 500 because conflicts went on past write_conflict_deadline_ms.");
  out.append("shadow_write_conflict_failures_total ").append(std::to_string(gauges.write_gave_up))
      .append("\n");
  out.append(gauges.extra);
  return out;
}

}  // namespace shadow::runtime
