#include "plugin/fleet/fleet_update_api.h"

#include "plugin/fleet/http_json.h"
#include "plugin/rest/routes.h"
#include "shadow_core/json.h"
#include "shadow_core/page_token.h"

namespace shadow::fleet {
namespace {

using rest::control_plane_error;
using rest::HttpResponse;

HttpResponse from_result(const FleetUpdater::Result& r);

// A change answered only once it is durable (durable mode).
HttpResponse durable(FleetUpdater& updater, const FleetUpdater::Result& r) {
  using O = FleetUpdater::Outcome;
  if ((r.outcome == O::kCreated || r.outcome == O::kExisting) && !updater.wait_durable())
    return control_plane_error(500, "InternalFailureException",
                               "the change could not be made durable (durable mode); check its status and retry");
  return from_result(r);
}

HttpResponse from_result(const FleetUpdater::Result& r) {
  using O = FleetUpdater::Outcome;
  switch (r.outcome) {
    case O::kCreated: {
      HttpResponse h = json_ok(r.body);
      h.status = 201;
      return h;
    }
    case O::kExisting: return json_ok(r.body);
    case O::kInvalid: return invalid_request(r.body);
    case O::kInvalidQuery: return control_plane_error(400, "InvalidQueryException", r.body);
    case O::kNotFound: return control_plane_error(404, "ResourceNotFoundException", r.body);
    case O::kConflict: return control_plane_error(409, "ConflictException", r.body);
    case O::kError: break;
  }
  return control_plane_error(500, "InternalFailureException", r.body);
}

}  // namespace

bool FleetUpdateApi::serves_path(std::string_view path) {
  return path == kPath || (path.starts_with(kPath) && path[kPath.size()] == '/');
}

HttpResponse FleetUpdateApi::handle(const rest::HttpRequest& request, const rest::RequestContext& context) {
  auto [path, raw_query] = rest::split_target(request.target);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(context.now.time_since_epoch()).count();
  auto method_not_allowed = [&] {
    return control_plane_error(405, "MethodNotAllowedException",
                               std::string(request.method) + " is not allowed on " + std::string(path));
  };
  if (path == kPath) {
    if (request.method == "POST") return start(request.body, now);
    if (request.method == "GET") return list(raw_query);
    return method_not_allowed();
  }
  std::string_view rest = path.substr(kPath.size() + 1);
  bool cancel = false;
  if (rest.ends_with("/cancel")) {
    cancel = true;
    rest.remove_suffix(std::string_view("/cancel").size());
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos)
    return control_plane_error(404, "ResourceNotFoundException", "no such route: " + std::string(path));
  auto id = rest::percent_decode(rest);
  if (!id) return invalid_request("Invalid percent-encoding in the operation id");
  if (cancel) return request.method == "POST" ? durable(updater_, updater_.cancel(*id, now)) : method_not_allowed();
  if (request.method == "GET") return from_result(updater_.describe(*id));
  if (request.method == "DELETE") return durable(updater_, updater_.remove(*id));
  return method_not_allowed();
}

HttpResponse FleetUpdateApi::start(std::string_view raw, int64_t now) {
  rapidjson::Document body;
  if (auto e = parse_object_body(raw, &body)) return *e;
  for (auto& m : body.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k != "operationId" && k != "queryString" && k != "shadowName" && k != "state")
      return invalid_request("unknown member '" + std::string(k) +
                             "': a fleet update has operationId, queryString, shadowName and state");
  }
  UpdateSpec spec;
  bool bad = false;
  if (auto v = string_member(body, "operationId", &bad)) spec.id = *v;
  if (bad) return invalid_request("operationId must be a string");
  std::optional<std::string> query = string_member(body, "queryString", &bad);
  if (bad || !query) return invalid_request("queryString is required and must be a string (e.g. \"thingName:line-7*\")");
  spec.query = *query;
  if (auto v = string_member(body, "shadowName", &bad)) spec.shadow = *v;
  if (bad) return invalid_request("shadowName must be a string");
  auto state = body.FindMember("state");
  if (state == body.MemberEnd() || !state->value.IsObject())
    return invalid_request("state is required: an object such as {\"desired\":{\"fan\":\"on\"}}");
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  state->value.Accept(w);
  spec.state.assign(buf.GetString(), buf.GetSize());
  return durable(updater_, updater_.create(std::move(spec), now));
}

HttpResponse FleetUpdateApi::list(std::string_view raw_query) {
  auto query = rest::parse_query(raw_query);
  if (!query) return invalid_request("Invalid percent-encoding in the query string");
  size_t limit = kDefaultPageSize;
  if (auto v = rest::find_param(*query, "pageSize")) {
    size_t n = 0;
    bool digits = !v->empty() && v->size() <= 4;
    for (char c : *v) {
      if (c < '0' || c > '9') digits = false;
      else n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (!digits || n < 1 || n > kMaxPageSize)
      return invalid_request("pageSize must be between 1 and " + std::to_string(kMaxPageSize));
    limit = n;
  }
  std::string after;
  if (auto v = rest::find_param(*query, "nextToken")) {
    auto decoded = decode_page_token(*v);
    if (!decoded || decoded->empty()) return invalid_request("Invalid nextToken");
    after = *decoded;
  }
  std::string next;
  std::string operations = updater_.list(after, limit, &next);
  std::string out = "{\"operations\":" + operations;
  if (!next.empty()) out += ",\"nextToken\":\"" + encode_page_token(next) + "\"";
  out += "}";
  return json_ok(std::move(out));
}

}  // namespace shadow::fleet
