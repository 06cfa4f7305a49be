// The iot-data shadow operations shadowctl uses, as REST calls: paths and
// query strings are built here and nowhere else (docs/rest-api.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/shadowctl/http_client.h"

namespace shadowctl {

// A shadow address: a thing and, for a named shadow, its name.
struct ShadowRef {
  std::string thing;
  std::optional<std::string> shadow;  // nullopt: the classic shadow

  // "classic shadow of 'dev1'" / "shadow 'config' of 'dev1'"
  std::string describe() const;
};

class ShadowApi {
 public:
  explicit ShadowApi(HttpClient& http) : http_(http) {}

  HttpResponse get(const ShadowRef& ref);
  HttpResponse update(const ShadowRef& ref, const std::string& request_document);
  HttpResponse remove(const ShadowRef& ref);
  // One page of ListNamedShadowsForThing; page_size 0 leaves it to the server.
  HttpResponse list_page(const std::string& thing, int page_size, const std::string& next_token);
  // One page of GET /api/shadows: every shadow of every thing. A
  // mosquitto-shadow extension, not an AWS call (AWS answers 404 or 403).
  // page_size 0 leaves it to the server.
  HttpResponse list_all_page(int page_size, const std::string& next_token);

  HttpClient& http() { return http_; }

 private:
  HttpClient& http_;
};

// Every named shadow of `thing`, following nextToken to the last page. On
// failure returns the failing response (status != 2xx) and leaves `names`
// with the names read so far.
struct ListResult {
  std::vector<std::string> names;
  HttpResponse failure;  // status 200 when every page was read
  int pages = 0;
};
ListResult list_all_named(ShadowApi& api, const std::string& thing, int page_size);

// A parsed /api/shadows page: the shadows in it and the token of the next
// page ("" on the last one).
struct ShadowPage {
  std::vector<ShadowRef> shadows;
  std::string next_token;
};
// nullopt when the body is not {"results":[{"thingName":...},...]}.
std::optional<ShadowPage> parse_shadow_page(const std::string& body);

}  // namespace shadowctl
