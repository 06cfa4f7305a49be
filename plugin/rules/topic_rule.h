// A topic rule as the AWS IoT API describes it (TopicRulePayload, TopicRule,
// TopicRuleListItem): parsing and validating the body of CreateTopicRule and
// ReplaceTopicRule with AWS's rules and exceptions, and writing rules back
// as GetTopicRule and ListTopicRules return them.
//
//   auto payload = parse_topic_rule_payload(http_body);
//   if (!payload.ok()) reply(payload.error().http_status(), payload.error().type(), payload.error().message);
//   payload->statement->from().matches(topic) ...
//
// Only SQL version 2016-03-23 runs here; a payload without awsIotSqlVersion
// gets it too (AWS would take 2015-10-08: docs/rules.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/rules/actions.h"
#include "plugin/rules/rule_error.h"
#include "plugin/rules/sql/statement.h"

namespace shadow::rules {

inline constexpr const char* kSqlVersion = "2016-03-23";
inline constexpr size_t kMaxActions = 10;

struct TopicRulePayload {
  std::string sql;
  std::string description;
  bool rule_disabled = false;
  std::string aws_iot_sql_version = kSqlVersion;
  std::vector<Action> actions;
  std::optional<Action> error_action;
  // The compiled sql; shared so that a rule can be run while it is replaced.
  std::shared_ptr<const sql::Statement> statement;

  // The FROM topic filter (ListTopicRules' topicPattern).
  const std::string& topic_pattern() const { return statement->from().text(); }
};

// Parses the JSON body of CreateTopicRule / ReplaceTopicRule. Errors:
// SqlParseException for SQL that cannot run (the message says where),
// InvalidRequestException for everything else (missing or mistyped fields,
// another SQL version, an action type this broker does not run, ...).
RuleResult<TopicRulePayload> parse_topic_rule_payload(std::string_view body);

// A stored rule: its name, payload and creation time.
struct TopicRule {
  std::string name;
  TopicRulePayload payload;
  int64_t created_at_ms = 0;
};

// The payload as canonical JSON (the fields above, in AWS's order), for
// storing a rule: parse_topic_rule_payload() reads it back.
std::string payload_json(const TopicRulePayload& payload);

// GetTopicRule's response: {"ruleArn": ..., "rule": {ruleName, sql, ...}}.
std::string get_topic_rule_json(const TopicRule& rule, const std::string& arn);

// One element of ListTopicRules' "rules": ruleArn, ruleName, topicPattern,
// createdAt, ruleDisabled.
void write_list_item(const TopicRule& rule, const std::string& arn, json::Writer& writer);

// ListTopicRules' `topic` parameter selects the rules whose FROM filter is
// exactly that string.
bool listed_for_topic(const TopicRulePayload& payload, std::string_view topic);

// What an errorAction receives when actions fail, in AWS's shape: one
// document per rule and message, listing every failed action.
struct ActionFailure {
  std::string failed_action;    // Action::failed_action(): "RepublishAction", "HttpAction"
  std::string failed_resource;  // the topic or URL
  std::string error_message;
};
struct ErrorActionInput {
  std::string rule_name;
  std::string topic;
  std::string trace_id;  // cloudwatchTraceId: a UUID that the broker's log line also carries
  std::string client_id;
  std::string_view payload;  // the original message payload
  std::vector<ActionFailure> failures;
};
std::string error_action_document(const ErrorActionInput& input);

}  // namespace shadow::rules
