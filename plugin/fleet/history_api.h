// The shadow history route, a mosquitto-shadow extension beside the
// iot-data routes (docs/fleet.md#history, docs/rest-api.md):
//
//   GET /things/{thing}/shadow/history?name=&fromVersion=&pageSize=
//
// Signed like the iot-data routes ("iotdata"; "execute-api" is accepted
// too). Answers and errors have the iot-data shape: the body of
// Service::history, or {"code":N,"message":...}.
#pragma once

#include "plugin/rest/api.h"
#include "plugin/runtime/pipeline.h"

namespace shadow::fleet {

class HistoryApi final : public rest::RestExtension {
 public:
  explicit HistoryApi(runtime::Pipeline& pipeline) : pipeline_(pipeline) {}

  // Whether `path` is one of these routes; also used to answer them with a
  // clear error where the feature does not run (rest::UnavailableRoutes).
  static bool serves_path(std::string_view path);
  bool serves(std::string_view path) const override { return serves_path(path); }
  std::vector<std::string> signing_services() const override { return {"iotdata", "iotdevicegateway", "execute-api"}; }
  rest::HttpResponse handle(const rest::HttpRequest& request, const rest::RequestContext& context) override;

 private:
  runtime::Pipeline& pipeline_;
};

}  // namespace shadow::fleet
