#include "plugin/rest/routes.h"

#include "shadow_core/json.h"

namespace shadow::rest {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Why `topic` cannot be published to, or "" if it can (MQTT 3.1.1 §4.7).
std::string topic_problem(std::string_view topic) {
  if (topic.empty()) return "Topic must not be empty";
  if (topic.size() > 65535) return "Topic is too long";
  if (topic.find_first_of("+#") != std::string_view::npos)
    return "Topic must not contain the wildcards + or #";
  if (topic.find('\0') != std::string_view::npos || !json::is_valid_utf8(topic))
    return "Topic must be valid UTF-8 without NUL characters";
  return "";
}

Route bad_request(std::string message) {
  Route r;
  r.kind = RouteKind::kBadRequest;
  r.error = std::move(message);
  return r;
}

Route of_kind(RouteKind kind) {
  Route r;
  r.kind = kind;
  return r;
}

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

constexpr std::string_view kThingsPrefix = "/things/";
constexpr std::string_view kListPrefix = "/api/things/shadow/ListNamedShadowsForThing/";
constexpr std::string_view kTopicsPrefix = "/topics/";
// Our extension: AWS has no call that lists every shadow.
constexpr std::string_view kListAllPath = "/api/shadows";

Route shadow_route(std::string_view method, std::string_view raw_thing, const QueryParams& q) {
  RouteKind kind;
  if (method == "GET") kind = RouteKind::kGetShadow;
  else if (method == "POST") kind = RouteKind::kUpdateShadow;
  else if (method == "DELETE") kind = RouteKind::kDeleteShadow;
  else return of_kind(RouteKind::kMethodNotAllowed);
  auto thing = percent_decode(raw_thing);
  if (!thing) return bad_request("Invalid percent-encoding in the thing name");
  Route r = of_kind(kind);
  r.thing = std::move(*thing);
  if (auto name = find_param(q, "name")) {
    // botocore never sends an empty name (minimum length 1); absent means
    // the classic shadow, so an explicit empty one is a client error.
    if (name->empty()) return bad_request("Invalid shadow name: it must not be empty");
    r.shadow = std::string(*name);
  }
  return r;
}

Route list_route(std::string_view method, std::string_view raw_thing, const QueryParams& q) {
  if (method != "GET") return of_kind(RouteKind::kMethodNotAllowed);
  auto thing = percent_decode(raw_thing);
  if (!thing) return bad_request("Invalid percent-encoding in the thing name");
  Route r = of_kind(RouteKind::kListNamedShadows);
  r.thing = std::move(*thing);
  if (auto v = find_param(q, "pageSize")) r.page_size = std::string(*v);
  if (auto v = find_param(q, "nextToken")) r.next_token = std::string(*v);
  return r;
}

Route list_all_route(std::string_view method, const QueryParams& q) {
  if (method != "GET") return of_kind(RouteKind::kMethodNotAllowed);
  Route r = of_kind(RouteKind::kListShadows);
  if (auto v = find_param(q, "pageSize")) r.page_size = std::string(*v);
  if (auto v = find_param(q, "nextToken")) r.next_token = std::string(*v);
  return r;
}

Route publish_route(std::string_view method, std::string_view raw_topic, const QueryParams& q) {
  if (method != "POST") return of_kind(RouteKind::kMethodNotAllowed);
  auto topic = percent_decode(raw_topic);
  if (!topic) return bad_request("Invalid percent-encoding in the topic");
  if (std::string p = topic_problem(*topic); !p.empty()) return bad_request(p);
  Route r = of_kind(RouteKind::kPublish);
  r.topic = std::move(*topic);
  if (auto qos = find_param(q, "qos")) {
    if (*qos == "0") r.qos = 0;
    else if (*qos == "1") r.qos = 1;
    else return bad_request("Invalid qos: it must be 0 or 1");
  }
  if (auto retain = find_param(q, "retain")) {
    if (*retain == "true") r.retain = true;
    else if (*retain == "false") r.retain = false;
    else return bad_request("Invalid retain: it must be true or false");
  }
  return r;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "The request path must start with '/'";
  std::string_view rest = path.substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      // The last segment may be empty: a trailing '/' is kept by the
      // canonical URI.
      if (segment.empty()) return "";
    } else if (segment.empty()) {
      return "The request path must not contain empty segments ('//')";
    }
    // Decoded, so that "%2E" and "%2e%2E" count too; a bad escape is not a
    // dot segment (the route reports it).
    std::optional<std::string> decoded = percent_decode(segment);
    std::string_view plain = decoded ? std::string_view(*decoded) : segment;
    if (plain == "." || plain == "..") {
      return "The request path must not contain '.' or '..' segments";
    }
    if (slash == std::string_view::npos) return "";
    rest = rest.substr(slash + 1);
  }
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<QueryParams> parse_query(std::string_view raw_query) {
  QueryParams params;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto key = percent_decode(piece.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view()
                                                             : piece.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    params.emplace_back(std::move(*key), std::move(*value));
  }
  return params;
}

std::optional<std::string_view> find_param(const QueryParams& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return std::string_view(v);
  return std::nullopt;
}

Route route_request(std::string_view method, std::string_view target) {
  auto [path, raw_query] = split_target(target);
  bool get_or_head = method == "GET" || method == "HEAD";

  if (path == "/healthz" || path == "/metrics") {
    if (!get_or_head) return of_kind(RouteKind::kMethodNotAllowed);
    return of_kind(path == "/healthz" ? RouteKind::kHealth : RouteKind::kMetrics);
  }

  // Which family the path belongs to, and its variable part (still encoded).
  enum { kShadow, kList, kListAll, kPublish, kNone } family = kNone;
  std::string_view rest;
  if (path == kListAllPath) {
    family = kListAll;
  } else if (has_prefix(path, kThingsPrefix)) {
    std::string_view tail = path.substr(kThingsPrefix.size());
    constexpr std::string_view kSuffix = "/shadow";
    size_t slash = tail.find('/');
    if (slash != std::string_view::npos && slash > 0 && tail.substr(slash) == kSuffix) {
      family = kShadow;
      rest = tail.substr(0, slash);
    }
  } else if (has_prefix(path, kListPrefix)) {
    rest = path.substr(kListPrefix.size());
    if (!rest.empty() && rest.find('/') == std::string_view::npos) family = kList;
  } else if (has_prefix(path, kTopicsPrefix)) {
    family = kPublish;  // literal slashes belong to the topic
    rest = path.substr(kTopicsPrefix.size());
  }
  // An empty thing label matches no route, as with any other missing label.
  if (family == kNone) return of_kind(RouteKind::kNotFound);

  auto query = parse_query(raw_query);
  if (!query) return bad_request("Invalid percent-encoding in the query string");
  switch (family) {
    case kShadow: return shadow_route(method, rest, *query);
    case kList: return list_route(method, rest, *query);
    case kListAll: return list_all_route(method, *query);
    case kPublish: return publish_route(method, rest, *query);
    case kNone: break;
  }
  return of_kind(RouteKind::kNotFound);
}

const char* operation_label(RouteKind kind) {
  switch (kind) {
    case RouteKind::kGetShadow: return "get";
    case RouteKind::kUpdateShadow: return "update";
    case RouteKind::kDeleteShadow: return "delete";
    case RouteKind::kListNamedShadows: return "list";
    case RouteKind::kListShadows: return "list_all";
    case RouteKind::kPublish: return "publish";
    default: return "";
  }
}

}  // namespace shadow::rest
