#include "plugin/rest/api.h"

#include <cstdio>
#include <mutex>
#include <random>

#include "plugin/runtime/rate_limiter.h"
#include "common/sigv4.h"
#include "shadow_core/errors.h"
#include "shadow_core/json.h"
#include "shadow_core/responses.h"

namespace shadow::rest {
namespace {

using plugin::MetricChannel;
using plugin::MetricOp;
using plugin::QueuedMessage;

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
  return error_response(status, responses::error(Error{status, message}, std::nullopt, std::nullopt));
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

std::vector<QueuedMessage> to_queued(const std::vector<OutMessage>& messages) {
  std::vector<QueuedMessage> out;
  out.reserve(messages.size());
  for (const OutMessage& m : messages) out.push_back({m.topic, m.payload, m.qos, false});
  return out;
}

HttpResponse queue_full() {
  return shadow_error(503, "Too many MQTT messages waiting to be published; retry later");
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

RestApi::RestApi(Service& service, plugin::PublishQueue& queue, plugin::OrderingLocks& locks,
                 plugin::Metrics& metrics, GaugeSource gauges, RestApiOptions options)
    : service_(service),
      queue_(queue),
      locks_(locks),
      metrics_(metrics),
      gauges_(std::move(gauges)),
      options_(options) {}

HttpResponse RestApi::handle(const HttpRequest& request, std::string_view request_id,
                             std::chrono::system_clock::time_point now) {
  auto started = std::chrono::steady_clock::now();
  Route route = route_request(request.method, request.target);

  if (route.kind == RouteKind::kHealth) {
    HttpResponse r;
    r.body = R"({"status":"ok"})";
    return r;
  }

  bool needs_auth = options_.credentials != nullptr &&
                    (route.kind != RouteKind::kMetrics || options_.metrics_auth);
  if (needs_auth) {
    auto [path, query] = split_target(request.target);
    HttpRequestView view{request.method, path, query, request.headers, request.body};
    VerifyResult v = verify_sigv4(view, *options_.credentials, now);
    if (!v.ok()) {
      metrics_.count_auth_denied();
      HttpResponse r = error_response(http_status(v.failure), message_body(v.message, request_id));
      r.error_type = error_type(v.failure);
      if (is_operation(route.kind))
        metrics_.count_request(MetricChannel::kRest, metric_op(route.kind), r.status,
                               std::chrono::steady_clock::now() - started);
      else
        metrics_.count_http_unrouted(r.status);
      return r;
    }
  }

  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  HttpResponse r;
  switch (route.kind) {
    case RouteKind::kMetrics: {
      plugin::Metrics::Gauges g = gauges_ ? gauges_() : plugin::Metrics::Gauges{};
      g.queue_depth = queue_.depth() + (options_.durable ? options_.durable->queue().size() : 0);
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics_.render(g);
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
    case RouteKind::kPublish:
      r = publish(route, request.body, now_s, request_id);
      break;
    default:
      r = shadow_operation(route, request.body, now_s);
      break;
  }
  metrics_.count_request(MetricChannel::kRest, metric_op(route.kind), r.status,
                         std::chrono::steady_clock::now() - started);
  if (r.status >= 500) {
    queue_.push_log(plugin::LogLevel::kWarning,
                    "REST " + std::string(request.method) + " " + std::string(request.target) +
                        " answered with " + std::to_string(r.status));
  }
  return r;
}

HttpResponse RestApi::shadow_operation(const Route& route, std::string_view body, int64_t now) {
  if (route.kind == RouteKind::kListNamedShadows || route.kind == RouteKind::kListShadows) {
    std::optional<std::string_view> page_size, next_token;
    if (route.page_size) page_size = *route.page_size;
    if (route.next_token) next_token = *route.next_token;
    ServiceResponse s = route.kind == RouteKind::kListShadows
                            ? service_.list_shadows(page_size, next_token, now)
                            : service_.list_named_shadows(route.thing, page_size, next_token, now);
    if (options_.durable) {
      // The list may show a shadow whose create is not durable yet.
      std::string not_durable = await_durable(options_.durable->current_seq());
      if (!not_durable.empty()) return shadow_error(500, messages::kInternal);
    }
    if (!s.ok()) return error_response(s.status, std::move(s.body));
    HttpResponse r;
    r.body = std::move(s.body);
    return r;
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
  if (throttled(route.thing)) return shadow_error(429, service_.config().throttled_message);
  if (request.op != Operation::kGet && !has_room()) return queue_full();

  ServiceResponse s;
  uint64_t durable_tag = 0;
  {
    // Engine call and enqueue under the shadow's lock: see publish_queue.h.
    std::lock_guard<std::mutex> g(locks_.for_shadow(request.id));
    s = service_.handle(request);
    if (s.ok()) hand_over(to_queued(s.messages));  // REST errors publish nothing
    // Any answer, a 404 included, may reveal the latest writes.
    if (options_.durable) durable_tag = options_.durable->current_seq();
  }
  if (options_.durable) {
    std::string not_durable = await_durable(durable_tag);
    if (!not_durable.empty()) return shadow_error(500, messages::kInternal);
  }
  if (!s.ok()) return error_response(s.status, std::move(s.body));
  HttpResponse r;
  r.body = std::move(s.body);
  return r;
}

HttpResponse RestApi::publish(const Route& route, std::string_view body, int64_t now,
                              std::string_view request_id) {
  if (body.size() > service_.config().max_payload_bytes)
    return shadow_error(413, messages::kTooLarge);
  auto request_topic = parse_request_topic(route.topic, service_.config().short_topics);
  // A shadow request costs the thing a token as over MQTT; a throttled one
  // is not forwarded either, so nothing of it reaches MQTT.
  if (request_topic && throttled(request_topic->id.thing))
    return shadow_error(429, service_.config().throttled_message);
  if (!has_room()) return queue_full();

  // The message itself reaches MQTT subscribers like any publish; a shadow
  // request topic also runs the shadow service exactly as over MQTT, and its
  // replies follow the request (the order MQTT clients see, research §0.3).
  QueuedMessage original{route.topic, std::string(body), route.qos, route.retain};
  if (!request_topic) {
    hand_over({std::move(original)});
  } else {
    original.retain = false;  // a shadow request is never kept as retained
    std::lock_guard<std::mutex> g(locks_.for_shadow(request_topic->id));
    auto s = service_.handle_mqtt(route.topic, body, now);
    std::vector<QueuedMessage> out{std::move(original)};
    if (s) {
      for (QueuedMessage& m : to_queued(s->messages)) out.push_back(std::move(m));
    }
    hand_over(std::move(out));
  }
  // AWS answers 200 whatever the shadow outcome (spec §10.2).
  HttpResponse r;
  r.body = message_body("OK", request_id);
  return r;
}

void RestApi::hand_over(std::vector<QueuedMessage> messages) {
  if (messages.empty()) return;
  if (options_.durable)
    options_.durable->hold(std::move(messages), /*has_reply=*/false);
  else
    queue_.push(std::move(messages));
}

bool RestApi::has_room() const {
  if (!queue_.has_room()) return false;
  return options_.durable == nullptr ||
         options_.durable->queue().size() < plugin::PublishQueue::kSoftLimit;
}

bool RestApi::throttled(std::string_view thing) const {
  return options_.limiter != nullptr &&
         !options_.limiter->allow(thing, std::chrono::steady_clock::now());
}

std::string RestApi::await_durable(uint64_t tag) {
  using Wait = plugin::GroupCommitter::Wait;
  Wait w = options_.durable->await(tag, options_.durable_timeout);
  if (w == Wait::kDurable) return "";
  std::string why = w == Wait::kTimeout
                        ? "the write-ahead log fsync took longer than " +
                              std::to_string(options_.durable_timeout.count()) + " ms"
                        : "the write-ahead log fsync failed";
  queue_.push_log(plugin::LogLevel::kError,
                  "REST request answered 500: " + why + " (durable mode)");
  return why;
}

HttpResponse RestApi::transport_error(int status, std::string_view request_id) {
  metrics_.count_http_unrouted(status);
  if (status == 413) return shadow_error(413, messages::kTooLarge);
  if (status >= 500) return shadow_error(500, messages::kInternal);
  if (status == 404) return error_response(404, message_body("Not Found", request_id));
  const char* message = status == 414 ? "Request URI too long" : "Bad Request";
  HttpResponse r = error_response(status, message_body(message, request_id));
  if (status == 414 || status == 400) r.error_type = "InvalidRequestException";
  return r;
}

}  // namespace shadow::rest
