// The AWS IoT control-plane routes for topic rules, served by the REST
// listener beside the iot-data routes, so that `aws iot ... --endpoint-url`
// and boto3's "iot" client manage rules unchanged (they sign these calls
// with the SigV4 service name execute-api):
//
//   POST   /rules/{ruleName}          CreateTopicRule (body: TopicRulePayload)
//   GET    /rules/{ruleName}          GetTopicRule
//   PATCH  /rules/{ruleName}          ReplaceTopicRule (body: TopicRulePayload)
//   DELETE /rules/{ruleName}          DeleteTopicRule
//   POST   /rules/{ruleName}/enable   EnableTopicRule
//   POST   /rules/{ruleName}/disable  DisableTopicRule
//   GET    /rules?topic=&maxResults=&nextToken=&ruleDisabled=   ListTopicRules
//
// Errors have AWS's control-plane shape ({"message"} and x-amzn-ErrorType).
// Runs on the HTTP worker threads; the registry does the rest.
#pragma once

#include <string_view>

#include "plugin/rest/api.h"
#include "plugin/rules/engine/registry.h"

namespace shadow::rules {

class RulesApi final : public rest::RestExtension {
 public:
  // `registry` must outlive the object.
  explicit RulesApi(RuleRegistry& registry) : registry_(registry) {}

  // Whether `path` is one of these routes; also used to answer them with a
  // clear error where the feature does not run (rest::UnavailableRoutes).
  static bool serves_path(std::string_view path);
  bool serves(std::string_view path) const override { return serves_path(path); }
  rest::HttpResponse handle(const rest::HttpRequest& request, const rest::RequestContext& context) override;

 private:
  rest::HttpResponse list(std::string_view raw_query);
  rest::HttpResponse error(const RuleError& e, std::string_view name) const;

  RuleRegistry& registry_;
};

}  // namespace shadow::rules
