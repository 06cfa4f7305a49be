#include "plugin/fleet/search_api.h"

#include <cmath>

#include "plugin/fleet/http_json.h"
#include "plugin/rest/routes.h"
#include "shadow_core/json.h"
#include "shadow_core/page_token.h"

namespace shadow::fleet {
namespace {

using rest::control_plane_error;
using rest::HttpResponse;

constexpr std::string_view kTokenPrefix = "1/";  // format of our nextToken: "1/" + last thing

HttpResponse invalid_query(std::string_view message) {
  return control_plane_error(400, "InvalidQueryException", message);
}

HttpResponse from_status(const Status& st) {
  if (st.code() == Status::Code::kUnavailable) return control_plane_error(429, "ThrottlingException", st.message());
  return control_plane_error(500, "InternalFailureException", "fleet search failed: " + st.message());
}

HttpResponse not_durable() {
  return control_plane_error(500, "InternalFailureException",
                             "the latest writes could not be made durable (durable mode); retry");
}

// The index name of a request: absent means AWS_Things, any other is a 404.
std::optional<HttpResponse> check_index(const rapidjson::Document& body) {
  bool bad = false;
  std::optional<std::string> index = string_member(body, "indexName", &bad);
  if (bad) return invalid_request("indexName must be a string");
  if (index && *index != SearchApi::kIndexName)
    return control_plane_error(404, "ResourceNotFoundException",
                               "Index " + *index + " does not exist: mosquitto-shadow has one index, AWS_Things");
  return std::nullopt;
}

// The queryString of a request, parsed.
std::optional<HttpResponse> parse_query(const rapidjson::Document& body, std::optional<Query>* out) {
  bool bad = false;
  std::optional<std::string> text = string_member(body, "queryString", &bad);
  if (bad || !text) return invalid_request("queryString is required and must be a string (e.g. \"thingName:*\")");
  auto q = Query::parse(*text);
  if (!q.ok()) return invalid_query(q.status().message());
  *out = std::move(q).value();
  return std::nullopt;
}

void write_connectivity(json::Writer& w, const Connectivity& c) {
  w.Key("connectivity");
  w.StartObject();
  w.Key("connected");
  w.Bool(c.connected);
  w.Key("timestamp");
  w.Int64(c.timestamp_ms);
  if (!c.disconnect_reason.empty()) {
    w.Key("disconnectReason");
    w.String(c.disconnect_reason.c_str(), static_cast<rapidjson::SizeType>(c.disconnect_reason.size()));
  }
  w.EndObject();
}

void write_number(json::Writer& w, const char* key, double v) {
  w.Key(key);
  if (std::isfinite(v)) w.Double(v);
  else w.Null();
}

}  // namespace

bool SearchApi::serves_path(std::string_view path) { return path == "/indices" || path.starts_with("/indices/"); }

HttpResponse SearchApi::handle(const rest::HttpRequest& request, const rest::RequestContext& /*context*/) {
  std::string_view path = rest::split_target(request.target).first;
  auto method_not_allowed = [&] {
    return control_plane_error(405, "MethodNotAllowedException",
                               std::string(request.method) + " is not allowed on " + std::string(path));
  };
  if (path == "/indices/search") return request.method == "POST" ? search_index(request.body) : method_not_allowed();
  if (path == "/indices/statistics")
    return request.method == "POST" ? get_statistics(request.body) : method_not_allowed();
  if (path == "/indices/buckets" || path == "/indices/cardinality" || path == "/indices/percentiles") {
    return invalid_request("This aggregation is not supported by mosquitto-shadow: use get-statistics "
                           "(count, average, sum, minimum, maximum, variance, standard deviation)");
  }
  if (request.method != "GET") return method_not_allowed();
  if (path == "/indices") {
    return json_ok(std::string("{\"indexNames\":[\"") + kIndexName + "\"]}");
  }
  auto name = rest::percent_decode(path.substr(std::string_view("/indices/").size()));
  if (!name) return invalid_request("Invalid percent-encoding in the index name");
  return describe_index(*name);
}

HttpResponse SearchApi::describe_index(std::string_view name) {
  if (name != kIndexName)
    return control_plane_error(404, "ResourceNotFoundException",
                               "Index " + std::string(name) + " does not exist: mosquitto-shadow has one index, AWS_Things");
  // Always ACTIVE: searches read the store itself, nothing is built.
  std::string schema = search_.connectivity() != nullptr ? "REGISTRY_AND_SHADOW_AND_CONNECTIVITY_STATUS"
                                                         : "REGISTRY_AND_SHADOW";
  return json_ok(std::string("{\"indexName\":\"") + kIndexName + "\",\"indexStatus\":\"ACTIVE\",\"schema\":\"" +
                 schema + "\"}");
}

HttpResponse SearchApi::search_index(std::string_view raw) {
  rapidjson::Document body;
  if (auto e = parse_object_body(raw, &body)) return *e;
  if (auto e = check_index(body)) return *e;
  size_t max_results = kDefaultMaxResults;
  if (auto m = body.FindMember("maxResults"); m != body.MemberEnd()) {
    if (!m->value.IsInt64() || m->value.GetInt64() < 1 || m->value.GetInt64() > static_cast<int64_t>(kMaxMaxResults))
      return invalid_request("maxResults must be an integer from 1 to " + std::to_string(kMaxMaxResults));
    max_results = static_cast<size_t>(m->value.GetInt64());
  }
  std::string after;
  bool bad = false;
  if (std::optional<std::string> token = string_member(body, "nextToken", &bad)) {
    std::optional<std::string> raw_token = decode_page_token(*token);
    if (!raw_token || !raw_token->starts_with(kTokenPrefix) || raw_token->size() == kTokenPrefix.size())
      return invalid_request("Invalid nextToken: pass the nextToken of the previous page unchanged");
    after = raw_token->substr(kTokenPrefix.size());
  } else if (bad) {
    return invalid_request("nextToken must be a string");
  }
  std::optional<Query> query;
  if (auto e = parse_query(body, &query)) return *e;
  // A page may show a write that is not durable yet (durable mode).
  if (!pipeline_.wait_until_durable()) return not_durable();

  SearchPage page;
  Status st = search_.search(*query, after, max_results, &page);
  if (!st.is_ok()) return from_status(st);

  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("things");
  w.StartArray();
  for (const SearchHit& hit : page.things) {
    w.StartObject();
    w.Key("thingName");
    w.String(hit.thing.c_str(), static_cast<rapidjson::SizeType>(hit.thing.size()));
    if (!hit.shadow.empty()) {
      w.Key("shadow");
      w.String(hit.shadow.c_str(), static_cast<rapidjson::SizeType>(hit.shadow.size()));
    }
    if (hit.connectivity) write_connectivity(w, *hit.connectivity);
    w.EndObject();
  }
  w.EndArray();
  if (page.next_after) {
    std::string token = encode_page_token(std::string(kTokenPrefix) + *page.next_after);
    w.Key("nextToken");
    w.String(token.c_str(), static_cast<rapidjson::SizeType>(token.size()));
  }
  w.EndObject();
  return json_ok(std::string(buf.GetString(), buf.GetSize()));
}

HttpResponse SearchApi::get_statistics(std::string_view raw) {
  rapidjson::Document body;
  if (auto e = parse_object_body(raw, &body)) return *e;
  if (auto e = check_index(body)) return *e;
  std::optional<Field> field;
  bool bad = false;
  if (std::optional<std::string> name = string_member(body, "aggregationField", &bad)) {
    std::string why;
    field = parse_field(*name, &why);
    if (!field) return control_plane_error(400, "InvalidAggregationException", why);
  } else if (bad) {
    return invalid_request("aggregationField must be a string");
  }
  std::optional<Query> query;
  if (auto e = parse_query(body, &query)) return *e;
  if (!pipeline_.wait_until_durable()) return not_durable();

  Statistics stats;
  Status st = search_.statistics(*query, field ? &*field : nullptr, &stats);
  if (!st.is_ok()) return from_status(st);

  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("statistics");
  w.StartObject();
  w.Key("count");
  if (stats.numbers == 0) {
    // No field, or a field without numbers (strings, booleans): the count only.
    w.Uint64(stats.count);
  } else {
    const double n = static_cast<double>(stats.numbers);
    const double average = stats.sum / n;
    const double variance = std::max(0.0, stats.sum_of_squares / n - average * average);
    w.Uint64(stats.numbers);
    write_number(w, "average", average);
    write_number(w, "sum", stats.sum);
    write_number(w, "minimum", stats.minimum);
    write_number(w, "maximum", stats.maximum);
    write_number(w, "sumOfSquares", stats.sum_of_squares);
    write_number(w, "variance", variance);
    write_number(w, "stdDeviation", std::sqrt(variance));
  }
  w.EndObject();
  w.EndObject();
  return json_ok(std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace shadow::fleet
