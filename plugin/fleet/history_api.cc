#include "plugin/fleet/history_api.h"

#include "plugin/rest/routes.h"
#include "shadow_core/errors.h"
#include "shadow_core/responses.h"

namespace shadow::fleet {
namespace {

constexpr std::string_view kPrefix = "/things/";
constexpr std::string_view kSuffix = "/shadow/history";

rest::HttpResponse shadow_error(int status, const std::string& message) {
  rest::HttpResponse r;
  r.status = status;
  r.error_type = rest_error_type(status);
  r.body = responses::error(Rejection{status, message}, std::nullopt, std::nullopt);
  return r;
}

}  // namespace

bool HistoryApi::serves_path(std::string_view path) {
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix)) return false;
  std::string_view thing = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return !thing.empty() && thing.find('/') == std::string_view::npos;
}

rest::HttpResponse HistoryApi::handle(const rest::HttpRequest& request, const rest::RequestContext& context) {
  auto [path, raw_query] = rest::split_target(request.target);
  if (request.method != "GET") return shadow_error(405, "Method Not Allowed: the shadow history is read with GET");
  auto thing = rest::percent_decode(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
  if (!thing) return shadow_error(400, "Invalid percent-encoding in the thing name");
  auto query = rest::parse_query(raw_query);
  if (!query) return shadow_error(400, "Invalid percent-encoding in the query string");
  std::string shadow;
  if (auto name = rest::find_param(*query, "name")) {
    if (name->empty()) return shadow_error(400, "Invalid shadow name: it must not be empty");
    shadow = std::string(*name);
  }
  // The history may hold a version that is not durable yet (durable mode).
  if (!pipeline_.wait_until_durable()) return shadow_error(500, messages::kInternal);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(context.now.time_since_epoch()).count();
  ServiceResponse s = pipeline_.service().history(*thing, shadow, rest::find_param(*query, "fromVersion"),
                                                  rest::find_param(*query, "pageSize"), now);
  rest::HttpResponse r;
  r.status = s.status;
  if (!s.ok()) r.error_type = rest_error_type(s.status);
  r.body = std::move(s.body);
  return r;
}

}  // namespace shadow::fleet
