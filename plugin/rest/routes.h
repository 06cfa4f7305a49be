// The REST API's routes (docs/rest-api.md): which operation an HTTP method and
// request target name, with the path and query values percent-decoded.
// Pure code: no HTTP library, no broker headers.
//
// Paths are matched on the target as received (still percent-encoded), so
// that a Publish topic sent as one encoded segment ("%24aws%2Fthings%2F...")
// and one sent with literal slashes decode to the same topic.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shadow::rest {

// "%24aws%2Fx" -> "$aws/x". nullopt when a '%' is not followed by two hex
// digits. '+' stays '+' (AWS SDKs encode a space as %20).
std::optional<std::string> percent_decode(std::string_view text);

// The request target split at the first '?': {path, query}, both raw.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

// Why the request path (as received, without the query) cannot be served,
// or "" if it can. The SigV4 canonical URI drops "." and ".." segments and
// empty ones ("a//b"), but the routes use the path as received: a signature
// made for one path would then also verify for another path, that is for
// another thing or topic. So a path must start with '/' and have no such
// segment, literal or percent-encoded ("%2E%2E"); only a trailing '/' may
// leave the last segment empty. For such paths the canonical URI is the
// path as received: the signature covers exactly the bytes that are routed.
std::string path_problem(std::string_view path);

// "a=1&b=%2F&c" -> {{"a","1"},{"b","/"},{"c",""}}, in order; empty pieces
// are skipped. nullopt when a key or value is badly percent-encoded.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
std::optional<QueryParams> parse_query(std::string_view raw_query);

// The first value of `key`, or nullopt.
std::optional<std::string_view> find_param(const QueryParams& params, std::string_view key);

enum class RouteKind {
  kGetShadow,
  kUpdateShadow,
  kDeleteShadow,
  kListNamedShadows,
  kListShadows,       // GET /api/shadows: a mosquitto-shadow extension, not AWS
  kPublish,
  kHealth,
  kMetrics,
  kBadRequest,        // known route, unusable values: `error` says why (400)
  kNotFound,          // no such route (404)
  kMethodNotAllowed,  // known path, wrong method (405)
};

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string thing;                       // shadow and list routes
  std::string shadow;                      // ?name=; empty: classic shadow
  std::string topic;                       // Publish
  int qos = 0;                             // Publish
  bool retain = false;                     // Publish
  std::optional<std::string> page_size;    // Lists, raw value for the service
  std::optional<std::string> next_token;   // Lists
  std::string error;                       // kBadRequest
};

// Routes a request. `method` is the HTTP method as sent; HEAD is treated as
// GET only for /healthz and /metrics.
Route route_request(std::string_view method, std::string_view target);

// The operation label of a route for logs and metrics: "get", "update",
// "delete", "list", "list_all", "publish", or "" for the others.
const char* operation_label(RouteKind kind);

}  // namespace shadow::rest
