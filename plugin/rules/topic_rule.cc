#include "plugin/rules/topic_rule.h"

#include <utility>

#include "plugin/rules/sql/encoding.h"
#include "plugin/rules/sql/payload.h"

namespace shadow::rules {

namespace {

constexpr const char* kPayloadField = "topicRulePayload";
// A TopicRulePayload nests 6 levels at most (republish user properties);
// deeper input is refused before anything walks it recursively.
constexpr int kMaxBodyDepth = 16;

RuleError type_error(const json::Value& value, const std::string& field, const char* type) {
  return validation_error(json::write(value), field, std::string("be ") + type);
}

RuleError check_sql_version(const std::string& version) {
  if (version == "2015-10-08" || version == "beta")
    return invalid_request("SQL version " + version + " is not supported by this broker: set awsIotSqlVersion to " +
                           kSqlVersion + " (docs/rules.md)");
  return invalid_request("Invalid awsIotSqlVersion '" + version + "': the supported version is " + kSqlVersion);
}

void write_string(json::Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_payload_members(const TopicRulePayload& p, json::Writer& w) {
  write_string(w, "sql", p.sql);
  write_string(w, "description", p.description);
  w.Key("actions");
  w.StartArray();
  for (const Action& a : p.actions) write_action(a, w);
  w.EndArray();
  w.Key("ruleDisabled");
  w.Bool(p.rule_disabled);
  write_string(w, "awsIotSqlVersion", p.aws_iot_sql_version);
  if (p.error_action) {
    w.Key("errorAction");
    write_action(*p.error_action, w);
  }
}

// AWS's JSON timestamps: seconds since the epoch, as a number.
void write_timestamp(json::Writer& w, int64_t ms) { w.Double(static_cast<double>(ms) / 1000.0); }

}  // namespace

RuleResult<TopicRulePayload> parse_topic_rule_payload(std::string_view body) {
  json::Document doc;
  if (body.empty() || !json::parse(body, &doc) || !doc.IsObject())
    return invalid_request("The request body must be a TopicRulePayload: a JSON object with sql and actions");
  if (!sql::within_depth(doc, kMaxBodyDepth))
    return invalid_request("The request body nests deeper than a TopicRulePayload can (" +
                           std::to_string(kMaxBodyDepth) + " levels)");
  const std::string f = kPayloadField;
  TopicRulePayload p;

  const json::Value* sql_text = json::find_last(doc, "sql");
  if (!sql_text || sql_text->IsNull()) return validation_error(std::nullopt, f + ".sql", "not be null");
  if (!sql_text->IsString()) return type_error(*sql_text, f + ".sql", "a string");
  p.sql = std::string(json::view(*sql_text));

  if (const json::Value* d = json::find_last(doc, "description"); d && !d->IsNull()) {
    if (!d->IsString()) return type_error(*d, f + ".description", "a string");
    p.description = std::string(json::view(*d));
  }
  if (const json::Value* d = json::find_last(doc, "ruleDisabled"); d && !d->IsNull()) {
    if (!d->IsBool()) return type_error(*d, f + ".ruleDisabled", "a boolean");
    p.rule_disabled = d->GetBool();
  }
  if (const json::Value* v = json::find_last(doc, "awsIotSqlVersion"); v && !v->IsNull()) {
    if (!v->IsString()) return type_error(*v, f + ".awsIotSqlVersion", "a string");
    std::string version(json::view(*v));
    if (version != kSqlVersion) return check_sql_version(version);
  }

  const json::Value* actions = json::find_last(doc, "actions");
  if (!actions || actions->IsNull()) return validation_error(std::nullopt, f + ".actions", "not be null");
  if (!actions->IsArray()) return type_error(*actions, f + ".actions", "a list");
  if (actions->Size() > kMaxActions)
    return validation_error(json::write(*actions), f + ".actions", "have length less than or equal to 10");

  auto statement = sql::Statement::compile(p.sql);
  if (!statement.ok()) return RuleError{RuleException::kSqlParse, statement.status().message()};
  p.statement = std::make_shared<const sql::Statement>(std::move(statement).value());

  for (rapidjson::SizeType i = 0; i < actions->Size(); ++i) {
    auto action = parse_action((*actions)[i], f + ".actions." + std::to_string(i + 1) + ".member");
    if (!action.ok()) return action.error();
    p.actions.push_back(std::move(action).value());
  }
  if (const json::Value* e = json::find_last(doc, "errorAction"); e && !e->IsNull()) {
    auto action = parse_action(*e, f + ".errorAction");
    if (!action.ok()) return action.error();
    p.error_action = std::move(action).value();
  }
  return p;
}

std::string payload_json(const TopicRulePayload& payload) {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  write_payload_members(payload, w);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string get_topic_rule_json(const TopicRule& rule, const std::string& arn) {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  write_string(w, "ruleArn", arn);
  w.Key("rule");
  w.StartObject();
  write_string(w, "ruleName", rule.name);
  w.Key("createdAt");
  write_timestamp(w, rule.created_at_ms);
  write_payload_members(rule.payload, w);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void write_list_item(const TopicRule& rule, const std::string& arn, json::Writer& w) {
  w.StartObject();
  write_string(w, "ruleArn", arn);
  write_string(w, "ruleName", rule.name);
  write_string(w, "topicPattern", rule.payload.topic_pattern());
  w.Key("createdAt");
  write_timestamp(w, rule.created_at_ms);
  w.Key("ruleDisabled");
  w.Bool(rule.payload.rule_disabled);
  w.EndObject();
}

bool listed_for_topic(const TopicRulePayload& payload, std::string_view topic) {
  return payload.topic_pattern() == topic;
}

std::string error_action_document(const ErrorActionInput& in) {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  write_string(w, "ruleName", in.rule_name);
  write_string(w, "topic", in.topic);
  write_string(w, "cloudwatchTraceId", in.trace_id);
  write_string(w, "clientId", in.client_id);
  write_string(w, "base64OriginalPayload", sql::base64_encode(in.payload));
  w.Key("failures");
  w.StartArray();
  for (const ActionFailure& failure : in.failures) {
    w.StartObject();
    write_string(w, "failedAction", failure.failed_action);
    write_string(w, "failedResource", failure.failed_resource);
    write_string(w, "errorMessage", failure.error_message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace shadow::rules
