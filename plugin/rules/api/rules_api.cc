#include "plugin/rules/api/rules_api.h"

#include <chrono>
#include <optional>
#include <string>

#include "plugin/rest/routes.h"
#include "shadow_core/json.h"

namespace shadow::rules {
namespace {

using rest::HttpResponse;

constexpr std::string_view kRoot = "/rules";

HttpResponse ok_empty() {
  HttpResponse r;
  r.body = "{}";
  return r;
}

HttpResponse ok_body(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

HttpResponse method_not_allowed(std::string_view method, std::string_view path) {
  return rest::control_plane_error(405, "MethodNotAllowedException",
                                   std::string(method) + " is not allowed on " + std::string(path));
}

int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool RulesApi::serves_path(std::string_view path) {
  return path == kRoot || (path.size() > kRoot.size() && path.substr(0, kRoot.size() + 1) == "/rules/");
}

HttpResponse RulesApi::error(const RuleError& e, std::string_view name) const {
  if (e.exception != RuleException::kResourceAlreadyExists) {
    return rest::control_plane_error(e.http_status(), e.type(), e.message);
  }
  // AWS names the existing resource too.
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  std::string arn = registry_.arn(name);
  w.StartObject();
  w.Key("message");
  w.String(e.message.data(), static_cast<rapidjson::SizeType>(e.message.size()));
  w.Key("resourceId");
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("resourceArn");
  w.String(arn.data(), static_cast<rapidjson::SizeType>(arn.size()));
  w.EndObject();
  HttpResponse r;
  r.status = e.http_status();
  r.error_type = e.type();
  r.body = buffer.GetString();
  return r;
}

HttpResponse RulesApi::list(std::string_view raw_query) {
  std::optional<rest::QueryParams> params = rest::parse_query(raw_query);
  if (!params) return error(invalid_request("The query string is not valid percent-encoding"), "");
  ListQuery query;
  auto take = [&](std::string_view key, std::optional<std::string>* out) {
    if (std::optional<std::string_view> v = rest::find_param(*params, key)) *out = std::string(*v);
  };
  take("topic", &query.topic);
  take("maxResults", &query.max_results);
  take("nextToken", &query.next_token);
  take("ruleDisabled", &query.rule_disabled);
  RuleResult<std::string> body = registry_.list(query);
  if (!body.ok()) return error(body.error(), "");
  return ok_body(std::move(body).value());
}

HttpResponse RulesApi::handle(const rest::HttpRequest& request, const rest::RequestContext& context) {
  auto [path, query] = rest::split_target(request.target);
  std::string_view method = request.method;
  if (path == kRoot || path == "/rules/") {
    if (method != "GET") return method_not_allowed(method, path);
    return list(query);
  }

  // /rules/{ruleName} or /rules/{ruleName}/enable|disable
  std::string_view rest_of_path = path.substr(kRoot.size() + 1);
  std::string_view raw_name = rest_of_path.substr(0, rest_of_path.find('/'));
  std::string_view action;
  if (raw_name.size() < rest_of_path.size()) action = rest_of_path.substr(raw_name.size() + 1);
  std::optional<std::string> decoded = rest::percent_decode(raw_name);
  if (!decoded) return error(invalid_request("The rule name in the path is not valid percent-encoding"), "");
  const std::string& name = *decoded;

  if (action == "enable" || action == "disable") {
    if (method != "POST") return method_not_allowed(method, path);
    if (std::optional<RuleError> e = registry_.set_disabled(name, action == "disable")) return error(*e, name);
    return ok_empty();
  }
  if (!action.empty()) {
    return rest::control_plane_error(404, "ResourceNotFoundException",
                                     "No such route: " + std::string(path));
  }
  if (method == "GET") {
    RuleResult<std::string> body = registry_.get(name);
    if (!body.ok()) return error(body.error(), name);
    return ok_body(std::move(body).value());
  }
  std::optional<RuleError> e;
  if (method == "POST") {
    e = registry_.create(name, request.body, epoch_ms(context.now));
  } else if (method == "PATCH") {
    e = registry_.replace(name, request.body);
  } else if (method == "DELETE") {
    e = registry_.remove(name);
  } else {
    return method_not_allowed(method, path);
  }
  if (e) return error(*e, name);
  return ok_empty();
}

}  // namespace shadow::rules
