// The fleet update routes, a mosquitto-shadow extension (AWS does this with
// Jobs; docs/fleet.md#fleet-updates):
//
//   POST   /api/fleet/updates             start (or find again) an operation
//   GET    /api/fleet/updates             list operations (pageSize, nextToken)
//   GET    /api/fleet/updates/{id}        one operation and its progress
//   POST   /api/fleet/updates/{id}/cancel stop it
//   DELETE /api/fleet/updates/{id}        forget a finished one
//
// Signed with the iot-data service names or "execute-api". Errors have the
// control-plane shape {"message":...} with x-amzn-ErrorType:
// InvalidRequestException / InvalidQueryException (400),
// ResourceNotFoundException (404), ConflictException (409),
// InternalFailureException (500).
#pragma once

#include "plugin/fleet/fleet_update.h"
#include "plugin/rest/api.h"

namespace shadow::fleet {

class FleetUpdateApi final : public rest::RestExtension {
 public:
  static constexpr std::string_view kPath = "/api/fleet/updates";
  static constexpr size_t kDefaultPageSize = 100;
  static constexpr size_t kMaxPageSize = 1000;

  explicit FleetUpdateApi(FleetUpdater& updater) : updater_(updater) {}

  // Whether `path` is one of these routes; also used to answer them with a
  // clear error where the feature does not run (rest::UnavailableRoutes).
  static bool serves_path(std::string_view path);
  bool serves(std::string_view path) const override { return serves_path(path); }
  std::vector<std::string> signing_services() const override { return {"iotdata", "iotdevicegateway", "execute-api"}; }
  rest::HttpResponse handle(const rest::HttpRequest& request, const rest::RequestContext& context) override;

 private:
  rest::HttpResponse start(std::string_view body, int64_t now);
  rest::HttpResponse list(std::string_view raw_query);

  FleetUpdater& updater_;
};

}  // namespace shadow::fleet
