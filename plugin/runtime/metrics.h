// Counters and latency histograms for GET /metrics, in the Prometheus text
// exposition format (docs/operations.md lists every metric). Recording is
// lock-free (relaxed atomics) so the broker thread and the HTTP workers never
// wait on each other; rendering reads each counter once, so a scrape taken
// during traffic may be a few requests out of step between series.
// Pure code: no broker headers.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "shadow_core/topic.h"

namespace shadow::runtime {

// kService: requests the plugin makes itself (a fleet update's writes).
enum class MetricChannel { kMqtt, kRest, kService };
// kListAll: GET /api/shadows, our extension (operation="list_all").
enum class MetricOp { kGet, kUpdate, kDelete, kList, kPublish, kListAll };

inline MetricOp metric_op(Operation op) {
  switch (op) {
    case Operation::kGet: return MetricOp::kGet;
    case Operation::kUpdate: return MetricOp::kUpdate;
    case Operation::kDelete: return MetricOp::kDelete;
  }
  return MetricOp::kGet;
}

class Metrics {
 public:
  // Status codes with their own series; any other code is counted as "other".
  static constexpr std::array<int, 15> kCodes = {200, 400, 401, 403, 404, 405, 409, 413,
                                                 414, 415, 429, 431, 500, 503, 0};
  // Upper bounds of the latency buckets, in seconds (+Inf is implicit).
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

  // One shadow request answered, with how long the service took.
  void count_request(MetricChannel channel, MetricOp op, int status,
                     std::chrono::nanoseconds latency);
  // A REST request refused by authentication (also counted by count_request
  // when it named an operation).
  void count_auth_denied() { auth_denied_.fetch_add(1, std::memory_order_relaxed); }
  // An MQTT publish, subscription or delivery refused by per-device
  // authorization (authorization.h, acl_check.cc).
  enum class AclKind { kPublish, kSubscribe, kReceive };
  void count_acl_denied(AclKind kind) {
    acl_denied_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  // An HTTP response that named no operation: unknown route (404), wrong
  // method (405), malformed request or body too large seen by the HTTP layer.
  void count_http_unrouted(int status);
  // The HTTP server's connections (plugin/rest/server.h): open now, refused
  // at accept by a connection limit, and cut because a stage of a request
  // did not finish in time.
  enum class HttpLimit { kTotal, kPerAddress };
  enum class HttpStage { kHead, kBody, kWrite };
  void http_connection_opened() { http_open_.fetch_add(1, std::memory_order_relaxed); }
  void http_connection_closed() { http_open_.fetch_sub(1, std::memory_order_relaxed); }
  void count_http_refused(HttpLimit limit) {
    http_refused_[static_cast<size_t>(limit)].fetch_add(1, std::memory_order_relaxed);
  }
  void count_http_timeout(HttpStage stage) {
    http_timeouts_[static_cast<size_t>(stage)].fetch_add(1, std::memory_order_relaxed);
  }
  // An MQTT message the broker refused to publish (mosquitto_broker_publish
  // failed), and MQTT messages published on behalf of REST requests.
  void count_publish_failure() { publish_failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_queued_published(uint64_t n) { queued_published_.fetch_add(n, std::memory_order_relaxed); }

  // Values sampled at scrape time by the caller.
  struct Gauges {
    uint64_t shadows_estimate = 0;  // RocksDB key estimate (shadows + tombstones)
    uint64_t db_size_bytes = 0;
    uint64_t queue_depth = 0;
    uint64_t write_retries = 0;  // Service::Stats
    uint64_t write_gave_up = 0;
    // Series of other modules (cluster mode), complete Prometheus lines
    // appended as they are.
    std::string extra;
  };
  std::string render(const Gauges& gauges) const;

 private:
  static constexpr size_t kChannels = 3;
  static constexpr size_t kOps = 6;
  static size_t code_index(int status);

  using Counter = std::atomic<uint64_t>;
  std::array<std::array<std::array<Counter, kCodes.size()>, kOps>, kChannels> requests_{};
  // Per channel: one counter per bucket (not cumulative) plus +Inf, and the sum.
  std::array<std::array<Counter, kBuckets.size() + 1>, kChannels> latency_buckets_{};
  std::array<Counter, kChannels> latency_sum_ns_{};
  std::array<Counter, kCodes.size()> http_unrouted_{};
  Counter auth_denied_{0};
  std::array<Counter, 3> acl_denied_{};
  Counter http_open_{0};
  std::array<Counter, 2> http_refused_{};
  std::array<Counter, 3> http_timeouts_{};
  Counter publish_failures_{0};
  Counter queued_published_{0};
};

}  // namespace shadow::runtime
