#include "tools/shadowctl/fleet_api.h"

#include <rapidjson/document.h>

#include "tools/shadowctl/output.h"

namespace shadowctl {
namespace {

constexpr const char* kControlPlane = "execute-api";
const std::string kUpdates = "/api/fleet/updates";

}  // namespace

HttpResponse FleetApi::search(const std::string& query, int max_results, const std::string& next_token) {
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("indexName", "AWS_Things", a);
  body.AddMember("queryString", rapidjson::Value(query.c_str(), a), a);
  if (max_results > 0) body.AddMember("maxResults", max_results, a);
  if (!next_token.empty()) body.AddMember("nextToken", rapidjson::Value(next_token.c_str(), a), a);
  return http_.send("POST", "/indices/search", "", compact_json(body), kControlPlane);
}

HttpResponse FleetApi::statistics(const std::string& query, const std::string& field) {
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("indexName", "AWS_Things", a);
  body.AddMember("queryString", rapidjson::Value(query.c_str(), a), a);
  if (!field.empty()) body.AddMember("aggregationField", rapidjson::Value(field.c_str(), a), a);
  return http_.send("POST", "/indices/statistics", "", compact_json(body), kControlPlane);
}

HttpResponse FleetApi::start_update(const std::string& body) { return http_.send("POST", kUpdates, "", body); }

HttpResponse FleetApi::describe_update(const std::string& id) {
  return http_.send("GET", kUpdates + "/" + percent_encode(id));
}

HttpResponse FleetApi::list_updates(const std::string& next_token) {
  return http_.send("GET", kUpdates, next_token.empty() ? "" : "nextToken=" + percent_encode(next_token));
}

HttpResponse FleetApi::cancel_update(const std::string& id) {
  return http_.send("POST", kUpdates + "/" + percent_encode(id) + "/cancel");
}

HttpResponse FleetApi::history(const ShadowRef& ref, uint64_t from_version, int page_size) {
  // Query parameters in the order SigV4 sorts them anyway.
  std::string query;
  auto add = [&](const std::string& kv) { query += (query.empty() ? "" : "&") + kv; };
  if (from_version > 0) add("fromVersion=" + std::to_string(from_version));
  if (ref.shadow) add("name=" + percent_encode(*ref.shadow));
  if (page_size > 0) add("pageSize=" + std::to_string(page_size));
  return http_.send("GET", "/things/" + percent_encode(ref.thing) + "/shadow/history", query);
}

}  // namespace shadowctl
