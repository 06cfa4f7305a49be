#include "plugin/rest/api.h"

#include <cstdio>
#include <mutex>
#include <random>

#include "common/sigv4.h"
#include "plugin/authz/authorization.h"
#include "shadow_core/errors.h"
#include "shadow_core/json.h"
#include "shadow_core/responses.h"

namespace shadow::rest {
namespace {

using runtime::MetricChannel;
using runtime::MetricOp;

// {"message":...,"traceId":...}: the body AWS sends for errors that are not
// shadow errors (unknown route, authentication).
std::string message_body(std::string_view message, std::string_view request_id) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.Key("traceId");
  w.String(request_id.data(), static_cast<rapidjson::SizeType>(request_id.size()));
  w.EndObject();
  return buf.GetString();
}

HttpResponse error_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.error_type = rest_error_type(status);
  r.body = std::move(body);
  return r;
}

// An error in the shadow error-document shape {"code":N,"message":...}.
HttpResponse shadow_error(int status, const std::string& message) {
  return error_response(status, responses::error(Rejection{status, message}, std::nullopt, std::nullopt));
}

MetricOp metric_op(RouteKind kind) {
  switch (kind) {
    case RouteKind::kGetShadow: return MetricOp::kGet;
    case RouteKind::kUpdateShadow: return MetricOp::kUpdate;
    case RouteKind::kDeleteShadow: return MetricOp::kDelete;
    case RouteKind::kListNamedShadows: return MetricOp::kList;
    case RouteKind::kListShadows: return MetricOp::kListAll;
    default: return MetricOp::kPublish;
  }
}

bool is_operation(RouteKind kind) { return operation_label(kind)[0] != '\0'; }

HttpResponse from_service(ServiceResponse s) {
  if (!s.ok()) return error_response(s.status, std::move(s.body));
  HttpResponse r;
  r.body = std::move(s.body);
  return r;
}

}  // namespace

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & ~0xF000ull) | 0x4000ull;                         // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

RestApi::RestApi(runtime::Pipeline& pipeline, runtime::Metrics& metrics, GaugeSource gauges,
                 RestApiOptions options)
    : pipeline_(pipeline), metrics_(metrics), gauges_(std::move(gauges)), options_(options) {}

HttpResponse RestApi::handle(const HttpRequest& request, std::string_view request_id,
                             std::chrono::system_clock::time_point now) {
  auto started = std::chrono::steady_clock::now();
  // Before anything else: the signature check and the routes must read the
  // same path (path_problem in routes.h).
  if (std::string problem = path_problem(split_target(request.target).first); !problem.empty()) {
    metrics_.count_http_unrouted(400);
    return error_response(400, message_body(problem, request_id));
  }
  Route route = route_request(request.method, request.target);

  if (route.kind == RouteKind::kHealth) return health();

  RestExtension* extension = route.kind == RouteKind::kNotFound ? extension_for(request.target) : nullptr;
  bool needs_auth = options_.credentials != nullptr &&
                    (route.kind != RouteKind::kMetrics || options_.metrics_auth);
  RequestContext context{request_id, now, {}};
  if (needs_auth) {
    auto [path, query] = split_target(request.target);
    auth::HttpRequestView view{request.method, path, query, request.headers, request.body};
    auth::Sigv4Options sigv4;
    if (extension != nullptr) sigv4.allowed_services = extension->signing_services();
    auth::VerifyResult v = auth::verify_sigv4(view, *options_.credentials, now, sigv4);
    context.access_key_id = v.access_key_id;
    if (!v.ok()) {
      metrics_.count_auth_denied();
      HttpResponse r = error_response(auth::http_status(v.failure), message_body(v.message, request_id));
      r.error_type = auth::error_type(v.failure);
      if (is_operation(route.kind))
        metrics_.count_request(MetricChannel::kRest, metric_op(route.kind), r.status,
                               std::chrono::steady_clock::now() - started);
      else
        metrics_.count_http_unrouted(r.status);
      return r;
    }
  }

  HttpResponse r;
  if (extension != nullptr) {
    r = extension->handle(request, context);
  } else {
    r = dispatch(route, request, context);
  }
  if (r.status >= 500) {
    pipeline_.log_from_worker(runtime::LogLevel::kWarning, "REST " + std::string(request.method) + " " +
                                                               std::string(request.target) +
                                                               " answered with " + std::to_string(r.status));
  }
  return r;
}

HttpResponse RestApi::health() const {
  Status st = options_.health ? options_.health() : Status::ok();
  HttpResponse r;
  if (st.is_ok()) {
    r.body = R"({"status":"ok"})";
    return r;
  }
  // 503 while the store cannot serve requests, so that a probe (a load
  // balancer, systemd, Kubernetes) sees what every request would see.
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("status");
  w.String("unavailable");
  w.Key("reason");
  w.String(st.message().data(), static_cast<rapidjson::SizeType>(st.message().size()));
  w.EndObject();
  r.status = 503;
  r.error_type = rest_error_type(503);
  r.body = buf.GetString();
  return r;
}

HttpResponse RestApi::dispatch(const Route& route, const HttpRequest& request, const RequestContext& context) {
  std::string_view request_id = context.request_id;
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(context.now.time_since_epoch()).count();
  HttpResponse r;
  switch (route.kind) {
    case RouteKind::kMetrics: {
      runtime::Metrics::Gauges g = gauges_ ? gauges_() : runtime::Metrics::Gauges{};
      g.queue_depth = pipeline_.backlog();
      Service::Stats stats = pipeline_.service().stats();
      g.write_retries = stats.write_retries;
      g.write_gave_up = stats.write_gave_up;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_.render(g);
      for (const MetricsSource& source : metrics_sources_) r.body += source();
      return r;
    }
    case RouteKind::kNotFound:
      metrics_.count_http_unrouted(404);
      return error_response(404, message_body("Not Found", request_id));
    case RouteKind::kMethodNotAllowed:
      metrics_.count_http_unrouted(405);
      return error_response(405, message_body("Method Not Allowed", request_id));
    case RouteKind::kBadRequest:
      // Counted as unrouted: the operation may be unknown (bad query).
      metrics_.count_http_unrouted(400);
      return shadow_error(400, route.error);
    case RouteKind::kPublish: {
      if (plugin::is_reserved_topic(route.topic, pipeline_.service().config().short_topics)) {
        // The same rule as the MQTT guard (acl_check.cc): replies and events
        // come from the service only, or any client could forge them.
        auto started = std::chrono::steady_clock::now();
        metrics_.count_acl_denied(runtime::Metrics::AclKind::kPublish);
        r = error_response(403, message_body("Forbidden: only the shadow service publishes to '" +
                                                 route.topic +
                                                 "' (a reply or event topic: accepted, rejected, "
                                                 "delta, documents); publish the request to its "
                                                 "get, update or delete topic instead",
                                             request_id));
        metrics_.count_request(MetricChannel::kRest, MetricOp::kPublish, r.status,
                               std::chrono::steady_clock::now() - started);
        return r;
      }
      ServiceResponse s = publish(route, request.body, now_s);
      // AWS answers 200 whatever the outcome of a shadow request it carries.
      if (s.ok()) s.body = message_body("OK", request_id);
      r = from_service(std::move(s));
      break;
    }
    default:
      r = from_service(shadow_operation(route, request.body, now_s, context.access_key_id));
      break;
  }
  return r;
}

ServiceResponse RestApi::shadow_operation(const Route& route, std::string_view body, int64_t now,
                                          std::string_view identity) {
  std::optional<std::string_view> page_size, next_token;
  if (route.page_size) page_size = *route.page_size;
  if (route.next_token) next_token = *route.next_token;
  switch (route.kind) {
    case RouteKind::kListNamedShadows: return pipeline_.rest_list(route.thing, page_size, next_token, now);
    case RouteKind::kListShadows: return pipeline_.rest_list("", page_size, next_token, now);
    default: break;
  }
  ServiceRequest request;
  request.channel = Channel::kRest;
  request.op = route.kind == RouteKind::kGetShadow      ? Operation::kGet
               : route.kind == RouteKind::kUpdateShadow ? Operation::kUpdate
                                                        : Operation::kDelete;
  request.id = ShadowId{route.thing, route.shadow};
  // GetThingShadow has no body; whatever a client sends is not a request.
  if (request.op != Operation::kGet) request.payload = body;
  request.now = now;
  request.identity = identity;
  return pipeline_.rest_request(request);
}

ServiceResponse RestApi::publish(const Route& route, std::string_view body, int64_t now) {
  return pipeline_.rest_publish(OutMessage{route.topic, std::string(body), route.qos, route.retain}, now);
}

RestExtension* RestApi::extension_for(std::string_view target) const {
  std::string_view path = split_target(target).first;
  for (RestExtension* e : extensions_)
    if (e->serves(path)) return e;
  return nullptr;
}

HttpResponse control_plane_error(int status, std::string_view type, std::string_view message) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  HttpResponse r;
  r.status = status;
  r.error_type = std::string(type);
  r.body = buf.GetString();
  return r;
}

HttpResponse RestApi::transport_error(int status, std::string_view request_id) {
  metrics_.count_http_unrouted(status);
  if (status == 413) return shadow_error(413, messages::kTooLarge);
  if (status >= 500) return shadow_error(500, messages::kInternal);
  if (status == 404) return error_response(404, message_body("Not Found", request_id));
  const char* message = status == 414   ? "Request URI too long"
                        : status == 431 ? "Request header fields too large"
                                        : "Bad Request";
  HttpResponse r = error_response(status, message_body(message, request_id));
  if (status == 414 || status == 431 || status == 400) r.error_type = "InvalidRequestException";
  return r;
}

}  // namespace shadow::rest
