// The routes of a feature that does not run on this broker (topic rules
// with plugin_opt_rules false; rules, fleet search, fleet updates and the
// shadow history in cluster mode). Without it they would answer a bare 404,
// which the AWS CLI prints as "Not Found" and leaves the user guessing; this
// extension answers 400 InvalidRequestException naming the reason and the
// option to change, which stock clients print and do not retry.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plugin/rest/api.h"

namespace shadow::rest {

class UnavailableRoutes final : public RestExtension {
 public:
  using PathMatcher = bool (*)(std::string_view path);

  // `matchers`: the feature's own route predicates (e.g. RulesApi::serves_path),
  // so the two cannot disagree on which paths belong to the feature.
  UnavailableRoutes(std::vector<PathMatcher> matchers, std::vector<std::string> signing_services,
                    std::string reason)
      : matchers_(std::move(matchers)), services_(std::move(signing_services)), reason_(std::move(reason)) {}

  bool serves(std::string_view path) const override {
    for (PathMatcher m : matchers_)
      if (m(path)) return true;
    return false;
  }
  std::vector<std::string> signing_services() const override { return services_; }
  HttpResponse handle(const HttpRequest& /*request*/, const RequestContext& /*context*/) override {
    return control_plane_error(400, "InvalidRequestException", reason_);
  }

 private:
  std::vector<PathMatcher> matchers_;
  std::vector<std::string> services_;
  std::string reason_;
};

}  // namespace shadow::rest
