// The REST API's request handling (spec §10), independent of the HTTP
// library: a request (method, raw target, headers, body) goes in, a status,
// error type and JSON body come out. The shadow operations call the same
// shadow::Service as MQTT; MQTT messages they cause go onto the
// PublishQueue for the broker thread (publish_queue.h explains ordering).
//
// Runs on HTTP worker threads; thread-safe. Pure code: no broker headers.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/credentials.h"
#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/metrics.h"
#include "plugin/runtime/publish_queue.h"
#include "plugin/rest/routes.h"
#include "shadow_core/service.h"

namespace shadow::plugin {
class RateLimiter;
}

namespace shadow::rest {

struct HttpRequest {
  std::string_view method;
  std::string_view target;  // path and query, as received (percent-encoded)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

struct HttpResponse {
  int status = 200;
  std::string error_type;  // x-amzn-ErrorType without the ':'; empty on success
  std::string content_type = "application/json";
  std::string body;
};

struct RestApiOptions {
  // nullptr: no authentication (plugin_opt_http_auth none).
  const CredentialStore* credentials = nullptr;
  bool metrics_auth = true;  // /metrics needs a signature when credentials are set
  // Durable mode (plugin_opt_sync_writes true; group_commit.h), or nullptr.
  // Then a shadow operation answers only once every write its answer may
  // reveal is fsynced (500 if the fsync fails or takes longer than
  // durable_timeout), and MQTT messages are held back until durable.
  plugin::DurableMode* durable = nullptr;
  std::chrono::milliseconds durable_timeout{10000};
  // The per-thing rate limit (plugin_opt_rate_limit_per_thing), shared with
  // the MQTT adapter: AWS throttles a thing whatever the channel. Shadow
  // get/update/delete and Publish to a shadow request topic take a token;
  // over the limit they get 429 ThrottlingException and publish nothing.
  // nullptr: no limit. Must be thread-safe (RateLimiter is).
  plugin::RateLimiter* limiter = nullptr;
};

// A fresh request id, formatted like a UUID (version 4).
std::string new_request_id();

class RestApi {
 public:
  using GaugeSource = std::function<plugin::Metrics::Gauges()>;

  // Every reference must outlive the RestApi.
  RestApi(Service& service, plugin::PublishQueue& queue, plugin::OrderingLocks& locks,
          plugin::Metrics& metrics, GaugeSource gauges, RestApiOptions options);

  HttpResponse handle(const HttpRequest& request, std::string_view request_id,
                      std::chrono::system_clock::time_point now);

  // The answer to a request the HTTP layer refused before it was routed
  // (413 body too large, 400 malformed, 414 target too long, ...).
  HttpResponse transport_error(int status, std::string_view request_id);

 private:
  HttpResponse shadow_operation(const Route& route, std::string_view body, int64_t now);
  HttpResponse publish(const Route& route, std::string_view body, int64_t now,
                       std::string_view request_id);
  // Hands MQTT messages to the broker thread: held back until durable in
  // durable mode, else queued. Call under the shadow's lock when they come
  // from a shadow operation.
  void hand_over(std::vector<plugin::QueuedMessage> messages);
  bool has_room() const;
  // True when a request on `thing` is over the rate limit.
  bool throttled(std::string_view thing) const;
  // Durable mode: "" when every write up to `tag` is durable, else why not.
  std::string await_durable(uint64_t tag);

  Service& service_;
  plugin::PublishQueue& queue_;
  plugin::OrderingLocks& locks_;
  plugin::Metrics& metrics_;
  GaugeSource gauges_;
  RestApiOptions options_;
};

}  // namespace shadow::rest
