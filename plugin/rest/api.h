// The REST API's request handling (docs/rest-api.md), independent of the
// HTTP library: a request (method, raw target, headers, body) goes in, a
// status, error type and JSON body come out. Here: routing, authentication
// (SigV4), /healthz, /metrics and the HTTP shape of answers; every shadow
// operation and Publish then goes through the same request pipeline as MQTT
// (plugin/runtime/pipeline.h).
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
#include "plugin/rest/routes.h"
#include "plugin/runtime/metrics.h"
#include "plugin/runtime/pipeline.h"

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

// What an extension learns about an authenticated request.
struct RequestContext {
  std::string_view request_id;
  std::chrono::system_clock::time_point now;
  std::string access_key_id;  // empty without authentication (plugin_opt_http_auth none)
};

// A set of routes beyond the iot-data API: the AWS IoT control plane (topic
// rules, fleet search) and routes of our own (shadow history, fleet
// updates). Each feature implements one and the glue adds it with
// RestApi::add_extension at start-up. RestApi routes a request to the first
// extension that serves it when no iot-data route matches, checks its
// signature against the extension's signing services, and hands it over.
class RestExtension {
 public:
  virtual ~RestExtension() = default;
  // Whether this extension serves `path` (as received, percent-encoded,
  // without the query). Any method: a wrong one is the extension's 405.
  virtual bool serves(std::string_view path) const = 0;
  // The service names of the SigV4 credential scope its clients sign with.
  // boto3 and the AWS CLI sign IoT control-plane calls as "execute-api".
  virtual std::vector<std::string> signing_services() const { return {"execute-api"}; }
  // Answers an authenticated request. Called on any HTTP worker thread.
  virtual HttpResponse handle(const HttpRequest& request, const RequestContext& context) = 0;
};

// The error shape of the AWS control plane: {"message":...} with the
// exception name in x-amzn-ErrorType (e.g. 404 ResourceNotFoundException).
HttpResponse control_plane_error(int status, std::string_view type, std::string_view message);

struct RestApiOptions {
  // nullptr: no authentication (plugin_opt_http_auth none).
  const auth::CredentialStore* credentials = nullptr;
  bool metrics_auth = true;  // /metrics needs a signature when credentials are set
  // The store's health for /healthz (Store::health); empty: always healthy.
  std::function<Status()> health;
};

// A fresh request id, formatted like a UUID (version 4).
std::string new_request_id();

class RestApi {
 public:
  // The store's figures for /metrics (sampled at scrape time).
  using GaugeSource = std::function<runtime::Metrics::Gauges()>;

  // Every reference must outlive the RestApi.
  RestApi(runtime::Pipeline& pipeline, runtime::Metrics& metrics, GaugeSource gauges,
          RestApiOptions options);

  HttpResponse handle(const HttpRequest& request, std::string_view request_id,
                      std::chrono::system_clock::time_point now);

  // Adds routes (see RestExtension). Call before the server starts.
  void add_extension(RestExtension* extension) { extensions_.push_back(extension); }
  // Adds Prometheus lines of another feature (the rules engine's counters)
  // to GET /metrics, after the service's own. Called at scrape time from an
  // HTTP thread. Call before the server starts.
  using MetricsSource = std::function<std::string()>;
  void add_metrics_source(MetricsSource source) { metrics_sources_.push_back(std::move(source)); }

  // The answer to a request the HTTP layer refused before it was routed
  // (413 body too large, 400 malformed, 414 target too long, ...).
  HttpResponse transport_error(int status, std::string_view request_id);

 private:
  // /healthz: 200 {"status":"ok"}, or 503 {"status":"unavailable","reason":...}.
  HttpResponse health() const;
  // The iot-data routes, /metrics and the refusals of unknown routes.
  HttpResponse dispatch(const Route& route, const HttpRequest& request, const RequestContext& context);
  // Through the pipeline: the shadow operations and lists, and Publish.
  // `identity` (the access key id) is recorded in the shadow history.
  ServiceResponse shadow_operation(const Route& route, std::string_view body, int64_t now, std::string_view identity);
  ServiceResponse publish(const Route& route, std::string_view body, int64_t now);

  // The extension serving `target`, or nullptr.
  RestExtension* extension_for(std::string_view target) const;

  runtime::Pipeline& pipeline_;
  runtime::Metrics& metrics_;
  GaugeSource gauges_;
  RestApiOptions options_;
  std::vector<RestExtension*> extensions_;  // not owned
  std::vector<MetricsSource> metrics_sources_;
};

}  // namespace shadow::rest
