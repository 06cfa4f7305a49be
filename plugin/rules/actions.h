// A rule's actions as this broker runs them: republish (to an MQTT topic)
// and http (a POST of the rule's output). Parsed from AWS's Action JSON and
// checked with AWS's rules when the rule is created; every other AWS action
// type (lambda, s3, dynamoDB, ...) is refused then, naming it.
//
// Fields that AWS lets carry substitution templates are compiled here
// (sql::SubstitutionTemplate) and rendered per message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plugin/rules/rule_error.h"
#include "plugin/rules/sql/substitution_template.h"
#include "shadow_core/json.h"

namespace shadow::rules {

using sql::SubstitutionTemplate;

// The MQTT 5 properties of a republished message (all optional, all
// templates). AWS sends them to MQTT 5 subscribers.
struct MqttHeaders {
  struct UserProperty {
    SubstitutionTemplate key;
    SubstitutionTemplate value;
  };
  std::optional<SubstitutionTemplate> payload_format_indicator;  // UNSPECIFIED_BYTES or UTF8_DATA
  std::optional<SubstitutionTemplate> content_type;
  std::optional<SubstitutionTemplate> response_topic;
  std::optional<SubstitutionTemplate> correlation_data;  // base64
  std::optional<SubstitutionTemplate> message_expiry;    // seconds
  std::vector<UserProperty> user_properties;
};

struct RepublishAction {
  std::string role_arn;  // required by AWS's API; not used (no IAM here)
  SubstitutionTemplate topic;
  int qos = 0;
  std::optional<MqttHeaders> headers;
};

struct HttpAction {
  struct Header {
    std::string key;
    SubstitutionTemplate value;
  };
  SubstitutionTemplate url;
  std::optional<std::string> confirmation_url;
  std::vector<Header> headers;
};

struct Action {
  std::variant<RepublishAction, HttpAction> kind;

  const char* type() const;         // "republish", "http": the key in AWS's Action JSON
  const char* failed_action() const;  // "RepublishAction", "HttpAction": for the errorAction document
};

// Parses one Action object (`value`). `field` names it in errors, as AWS
// does: "topicRulePayload.actions.1.member" or "topicRulePayload.errorAction".
RuleResult<Action> parse_action(const json::Value& value, const std::string& field);

// Writes the action back as AWS's Action JSON (GetTopicRule, storage).
void write_action(const Action& action, json::Writer& writer);

// The topic a republish action publishes to for one message: the template
// rendered, with AWS's "$$" prefix for reserved topics turned into "$".
// Nullopt, with the reason in *why, when the result is not a topic one can
// publish to (empty, wildcards, NUL, invalid UTF-8, over 65535 bytes).
std::optional<std::string> republish_topic(const RepublishAction& action, const sql::Payload& payload,
                                           sql::EvalContext& context, std::string* why);

}  // namespace shadow::rules
