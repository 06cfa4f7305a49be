#include "tools/shadowctl/shadow_api.h"

#include <rapidjson/document.h>

namespace shadowctl {

std::string ShadowRef::describe() const {
  if (!shadow) return "classic shadow of '" + thing + "'";
  return "shadow '" + *shadow + "' of '" + thing + "'";
}

namespace {

std::string shadow_path(const ShadowRef& ref) {
  return "/things/" + percent_encode(ref.thing) + "/shadow";
}

std::string shadow_query(const ShadowRef& ref) {
  return ref.shadow ? "name=" + percent_encode(*ref.shadow) : "";
}

}  // namespace

HttpResponse ShadowApi::get(const ShadowRef& ref) {
  return http_.send("GET", shadow_path(ref), shadow_query(ref));
}

HttpResponse ShadowApi::update(const ShadowRef& ref, const std::string& request_document) {
  return http_.send("POST", shadow_path(ref), shadow_query(ref), request_document);
}

HttpResponse ShadowApi::remove(const ShadowRef& ref) {
  return http_.send("DELETE", shadow_path(ref), shadow_query(ref));
}

namespace {

std::string paging_query(int page_size, const std::string& next_token) {
  std::string query;
  // Sorted by key, though the signer sorts them anyway.
  if (!next_token.empty()) query = "nextToken=" + percent_encode(next_token);
  if (page_size > 0) {
    if (!query.empty()) query += "&";
    query += "pageSize=" + std::to_string(page_size);
  }
  return query;
}

}  // namespace

HttpResponse ShadowApi::list_page(const std::string& thing, int page_size,
                                  const std::string& next_token) {
  return http_.send("GET", "/api/things/shadow/ListNamedShadowsForThing/" + percent_encode(thing),
                    paging_query(page_size, next_token));
}

HttpResponse ShadowApi::list_all_page(int page_size, const std::string& next_token) {
  return http_.send("GET", "/api/shadows", paging_query(page_size, next_token));
}

std::optional<ShadowPage> parse_shadow_page(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto results = doc.FindMember("results");
  if (results == doc.MemberEnd() || !results->value.IsArray()) return std::nullopt;
  ShadowPage page;
  for (const auto& item : results->value.GetArray()) {
    if (!item.IsObject()) return std::nullopt;
    auto thing = item.FindMember("thingName");
    if (thing == item.MemberEnd() || !thing->value.IsString()) return std::nullopt;
    ShadowRef ref{std::string(thing->value.GetString(), thing->value.GetStringLength()), std::nullopt};
    auto shadow = item.FindMember("shadowName");
    if (shadow != item.MemberEnd()) {
      if (!shadow->value.IsString()) return std::nullopt;
      ref.shadow = std::string(shadow->value.GetString(), shadow->value.GetStringLength());
    }
    page.shadows.push_back(std::move(ref));
  }
  auto next = doc.FindMember("nextToken");
  if (next != doc.MemberEnd() && next->value.IsString())
    page.next_token.assign(next->value.GetString(), next->value.GetStringLength());
  return page;
}

ListResult list_all_named(ShadowApi& api, const std::string& thing, int page_size) {
  ListResult out;
  std::string token;
  // A server that keeps returning tokens must not keep us here forever:
  // 100000 pages of at least one name is far beyond any real thing.
  for (int page = 0; page < 100000; ++page) {
    HttpResponse r = api.list_page(thing, page_size, token);
    if (!r.ok()) {
      out.failure = std::move(r);
      return out;
    }
    ++out.pages;
    rapidjson::Document doc;
    doc.Parse(r.body.c_str(), r.body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("results") ||
        !doc["results"].IsArray()) {
      r.status = 502;
      r.error_type = "InvalidResponse";
      r.body = "{\"message\":\"the server's list answer is not {\\\"results\\\":[...]}\"}";
      out.failure = std::move(r);
      return out;
    }
    for (const auto& name : doc["results"].GetArray()) {
      if (name.IsString()) out.names.emplace_back(name.GetString(), name.GetStringLength());
    }
    auto next = doc.FindMember("nextToken");
    if (next == doc.MemberEnd() || !next->value.IsString() || next->value.GetStringLength() == 0) {
      out.failure.status = 200;
      return out;
    }
    std::string new_token(next->value.GetString(), next->value.GetStringLength());
    if (new_token == token) {  // no progress: stop rather than loop
      out.failure.status = 200;
      return out;
    }
    token = std::move(new_token);
  }
  out.failure.status = 200;
  return out;
}

}  // namespace shadowctl
