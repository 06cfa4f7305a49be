// The fleet calls shadowctl makes, as REST calls (docs/fleet.md): fleet
// search (the AWS IoT control-plane routes, signed as "execute-api"), fleet
// updates and the shadow history (mosquitto-shadow's own routes). Paths and
// bodies are built here and nowhere else.
#pragma once

#include <cstdint>
#include <string>

#include "tools/shadowctl/http_client.h"
#include "tools/shadowctl/shadow_api.h"

namespace shadowctl {

class FleetApi {
 public:
  explicit FleetApi(HttpClient& http) : http_(http) {}

  // SearchIndex: one page; max_results 0 leaves it to the server.
  HttpResponse search(const std::string& query, int max_results, const std::string& next_token);
  // GetStatistics; `field` empty: the count only.
  HttpResponse statistics(const std::string& query, const std::string& field);

  // POST /api/fleet/updates with a prepared JSON body.
  HttpResponse start_update(const std::string& body);
  HttpResponse describe_update(const std::string& id);
  HttpResponse list_updates(const std::string& next_token);
  HttpResponse cancel_update(const std::string& id);

  // GET /things/{thing}/shadow/history; from_version 0: the oldest kept.
  HttpResponse history(const ShadowRef& ref, uint64_t from_version, int page_size);

 private:
  HttpClient& http_;
};

}  // namespace shadowctl
