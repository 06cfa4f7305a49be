#include "plugin/rules/actions.h"

#include <utility>

#include "plugin/rules/sql/encoding.h"

namespace shadow::rules {

namespace {

constexpr size_t kMaxUrlLength = 2000;
constexpr size_t kMaxHeaderKeyLength = 256;
constexpr size_t kMaxHttpHeaders = 100;
constexpr size_t kMaxUserProperties = 100;
constexpr size_t kMaxHeaderFieldLength = 1024;  // each MQTT 5 header field

// AWS's action types that this broker does not run.
constexpr const char* kOtherAwsActions[] = {
    "dynamoDB",        "dynamoDBv2",       "lambda",         "sns",           "sqs",
    "kinesis",         "s3",               "firehose",       "cloudwatchMetric", "cloudwatchAlarm",
    "cloudwatchLogs",  "elasticsearch",    "salesforce",     "iotAnalytics",  "iotEvents",
    "iotSiteWise",     "stepFunctions",    "timestream",     "kafka",         "openSearch",
    "location",
};

RuleError type_error(const json::Value& value, const std::string& field, const char* type) {
  std::optional<std::string> shown;
  if (!value.IsNull()) shown = json::write(value);
  return validation_error(shown, field, std::string("be ") + type);
}

// A required (or, with `required` false, optional) string member.
RuleResult<std::optional<std::string>> string_member(const json::Value& object, const char* name,
                                                     const std::string& field, bool required) {
  const json::Value* v = json::find_last(object, name);
  std::string where = field + "." + name;
  if (!v || v->IsNull()) {
    if (required) return validation_error(std::nullopt, where, "not be null");
    return std::optional<std::string>();
  }
  if (!v->IsString()) return type_error(*v, where, "a string");
  return std::optional<std::string>(std::string(json::view(*v)));
}

RuleResult<SubstitutionTemplate> compile_template(const std::string& text, const std::string& field) {
  auto compiled = SubstitutionTemplate::compile(text);
  if (!compiled.ok()) return invalid_request("Invalid substitution template in " + field + ": " + compiled.status().message());
  return std::move(compiled).value();
}

// Why `topic` cannot be published to, or empty.
std::string topic_problem(std::string_view topic) {
  if (topic.empty()) return "the topic is empty";
  if (topic.size() > 65535) return "the topic is longer than 65535 bytes";
  if (topic.find_first_of("+#") != std::string_view::npos) return "the topic contains a wildcard (+ or #)";
  if (topic.find('\0') != std::string_view::npos) return "the topic contains a NUL character";
  if (!json::is_valid_utf8(topic)) return "the topic is not valid UTF-8";
  return {};
}

std::string_view unescape_reserved(std::string_view topic) {
  if (topic.size() >= 2 && topic[0] == '$' && topic[1] == '$') topic.remove_prefix(1);
  return topic;
}

RuleResult<std::optional<SubstitutionTemplate>> optional_template(const json::Value& object, const char* name,
                                                                  const std::string& field) {
  auto text = string_member(object, name, field, false);
  if (!text.ok()) return text.error();
  if (!text.value()) return std::optional<SubstitutionTemplate>();
  if (text.value()->size() > kMaxHeaderFieldLength)
    return validation_error(*text.value(), field + "." + name, "have length less than or equal to 1024");
  auto t = compile_template(*text.value(), field + "." + name);
  if (!t.ok()) return t.error();
  return std::optional<SubstitutionTemplate>(std::move(t).value());
}

RuleResult<MqttHeaders> parse_headers(const json::Value& v, const std::string& field) {
  if (!v.IsObject()) return type_error(v, field, "an object");
  MqttHeaders h;
  struct Slot {
    const char* name;
    std::optional<SubstitutionTemplate>* target;
  };
  const Slot slots[] = {{"payloadFormatIndicator", &h.payload_format_indicator},
                        {"contentType", &h.content_type},
                        {"responseTopic", &h.response_topic},
                        {"correlationData", &h.correlation_data},
                        {"messageExpiry", &h.message_expiry}};
  for (const Slot& slot : slots) {
    auto t = optional_template(v, slot.name, field);
    if (!t.ok()) return t.error();
    *slot.target = std::move(t).value();
  }
  if (h.payload_format_indicator && !h.payload_format_indicator->has_substitutions()) {
    const std::string& pfi = h.payload_format_indicator->text();
    if (pfi != "UNSPECIFIED_BYTES" && pfi != "UTF8_DATA")
      return validation_error(pfi, field + ".payloadFormatIndicator",
                              "satisfy enum value set: [UNSPECIFIED_BYTES, UTF8_DATA]");
  }
  if (const json::Value* props = json::find_last(v, "userProperties"); props && !props->IsNull()) {
    std::string where = field + ".userProperties";
    if (!props->IsArray()) return type_error(*props, where, "a list");
    if (props->Empty()) return validation_error(json::write(*props), where, "have length greater than or equal to 1");
    if (props->Size() > kMaxUserProperties)
      return validation_error(json::write(*props), where, "have length less than or equal to 100");
    for (rapidjson::SizeType i = 0; i < props->Size(); ++i) {
      const json::Value& p = (*props)[i];
      std::string item = where + "." + std::to_string(i + 1) + ".member";
      if (!p.IsObject()) return type_error(p, item, "an object");
      auto key = string_member(p, "key", item, true);
      if (!key.ok()) return key.error();
      auto value = string_member(p, "value", item, true);
      if (!value.ok()) return value.error();
      auto key_t = compile_template(*key.value(), item + ".key");
      if (!key_t.ok()) return key_t.error();
      auto value_t = compile_template(*value.value(), item + ".value");
      if (!value_t.ok()) return value_t.error();
      h.user_properties.push_back({std::move(key_t).value(), std::move(value_t).value()});
    }
  }
  return h;
}

RuleResult<RepublishAction> parse_republish(const json::Value& v, const std::string& field) {
  if (!v.IsObject()) return type_error(v, field, "an object");
  auto topic = string_member(v, "topic", field, true);
  if (!topic.ok()) return topic.error();
  auto role = string_member(v, "roleArn", field, true);
  if (!role.ok()) return role.error();
  auto compiled = compile_template(*topic.value(), field + ".topic");
  if (!compiled.ok()) return compiled.error();
  RepublishAction a{*role.value(), std::move(compiled).value(), 0, std::nullopt};
  if (!a.topic.has_substitutions()) {
    std::string problem = topic_problem(unescape_reserved(a.topic.text()));
    if (!problem.empty()) return invalid_request("Invalid republish topic in " + field + ".topic: " + problem);
  }
  if (const json::Value* qos = json::find_last(v, "qos"); qos && !qos->IsNull()) {
    if (!qos->IsInt64()) return type_error(*qos, field + ".qos", "an integer");
    if (qos->GetInt64() < 0)
      return validation_error(json::write(*qos), field + ".qos", "have value greater than or equal to 0");
    if (qos->GetInt64() > 1)
      return validation_error(json::write(*qos), field + ".qos", "have value less than or equal to 1");
    a.qos = static_cast<int>(qos->GetInt64());
  }
  if (const json::Value* headers = json::find_last(v, "headers"); headers && !headers->IsNull()) {
    auto h = parse_headers(*headers, field + ".headers");
    if (!h.ok()) return h.error();
    a.headers = std::move(h).value();
  }
  return a;
}

bool has_http_scheme(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"})
    if (url.size() >= scheme.size() && sql::equals_ignore_case(url.substr(0, scheme.size()), scheme)) return true;
  return false;
}

RuleResult<HttpAction> parse_http(const json::Value& v, const std::string& field) {
  if (!v.IsObject()) return type_error(v, field, "an object");
  if (const json::Value* auth = json::find_last(v, "auth"); auth && !auth->IsNull())
    return invalid_request("The auth member of the http action (" + field +
                           ".auth, SigV4 signing with an IAM role) is not supported by this broker");
  auto url = string_member(v, "url", field, true);
  if (!url.ok()) return url.error();
  if (url.value()->size() > kMaxUrlLength)
    return validation_error(*url.value(), field + ".url", "have length less than or equal to 2000");
  auto compiled = compile_template(*url.value(), field + ".url");
  if (!compiled.ok()) return compiled.error();
  HttpAction a{std::move(compiled).value(), std::nullopt, {}};
  // The part before any substitution must already name the scheme.
  std::string_view fixed = std::string_view(a.url.text()).substr(0, a.url.text().find("${"));
  if (!has_http_scheme(fixed) || (!a.url.has_substitutions() && fixed.find("//") + 2 == fixed.size()))
    return invalid_request("Invalid url in " + field + ".url: it must start with https:// or http:// and a host");
  auto confirmation = string_member(v, "confirmationUrl", field, false);
  if (!confirmation.ok()) return confirmation.error();
  if (confirmation.value()) {
    const std::string& c = *confirmation.value();
    if (c.size() > kMaxUrlLength)
      return validation_error(c, field + ".confirmationUrl", "have length less than or equal to 2000");
    if (a.url.text().compare(0, c.size(), c) != 0)
      return invalid_request("Invalid http action in " + field + ": the url must begin with the confirmationUrl");
    a.confirmation_url = c;
  } else if (a.url.has_substitutions()) {
    return invalid_request("Invalid http action in " + field +
                           ": a url with substitution templates needs a confirmationUrl that it begins with");
  }
  if (const json::Value* headers = json::find_last(v, "headers"); headers && !headers->IsNull()) {
    std::string where = field + ".headers";
    if (!headers->IsArray()) return type_error(*headers, where, "a list");
    if (headers->Size() > kMaxHttpHeaders)
      return validation_error(json::write(*headers), where, "have length less than or equal to 100");
    for (rapidjson::SizeType i = 0; i < headers->Size(); ++i) {
      const json::Value& h = (*headers)[i];
      std::string item = where + "." + std::to_string(i + 1) + ".member";
      if (!h.IsObject()) return type_error(h, item, "an object");
      auto key = string_member(h, "key", item, true);
      if (!key.ok()) return key.error();
      auto value = string_member(h, "value", item, true);
      if (!value.ok()) return value.error();
      const std::string& k = *key.value();
      if (k.empty()) return validation_error(k, item + ".key", "have length greater than or equal to 1");
      if (k.size() > kMaxHeaderKeyLength)
        return validation_error(k, item + ".key", "have length less than or equal to 256");
      for (char c : k) {
        // An HTTP token: no separators, spaces or control characters.
        bool bad = c <= ' ' || c >= 127 || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos;
        if (bad) return invalid_request("Invalid http header name in " + item + ".key: '" + k + "'");
      }
      auto value_t = compile_template(*value.value(), item + ".value");
      if (!value_t.ok()) return value_t.error();
      a.headers.push_back({k, std::move(value_t).value()});
    }
  }
  return a;
}

void write_string(json::Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

const char* Action::type() const { return std::holds_alternative<RepublishAction>(kind) ? "republish" : "http"; }

const char* Action::failed_action() const {
  return std::holds_alternative<RepublishAction>(kind) ? "RepublishAction" : "HttpAction";
}

RuleResult<Action> parse_action(const json::Value& value, const std::string& field) {
  if (!value.IsObject()) return type_error(value, field, "an object");
  const json::Value* chosen = nullptr;
  std::string chosen_name;
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    if (it->value.IsNull()) continue;  // an SDK may send absent members as null
    std::string name(json::view(it->name));
    if (name != "republish" && name != "http") {
      bool aws = false;
      for (const char* other : kOtherAwsActions) aws |= name == other;
      if (aws)
        return invalid_request("The " + name + " action (" + field + "." + name +
                               ") is not supported by this broker: it runs republish and http actions "
                               "(docs/rules.md)");
      return invalid_request("Unknown action type '" + name + "' in " + field +
                             ": this broker runs republish and http actions");
    }
    if (chosen)
      return invalid_request("An action must have exactly one action type; " + field + " has " + chosen_name +
                             " and " + name);
    chosen = &it->value;
    chosen_name = name;
  }
  if (!chosen) return invalid_request("An action must have one action type (republish or http); " + field + " has none");
  std::string where = field + "." + chosen_name;
  if (chosen_name == "republish") {
    auto r = parse_republish(*chosen, where);
    if (!r.ok()) return r.error();
    return Action{std::move(r).value()};
  }
  auto h = parse_http(*chosen, where);
  if (!h.ok()) return h.error();
  return Action{std::move(h).value()};
}

void write_action(const Action& action, json::Writer& w) {
  w.StartObject();
  w.Key(action.type());
  w.StartObject();
  if (const auto* r = std::get_if<RepublishAction>(&action.kind)) {
    write_string(w, "roleArn", r->role_arn);
    write_string(w, "topic", r->topic.text());
    w.Key("qos");
    w.Int(r->qos);
    if (r->headers) {
      const MqttHeaders& h = *r->headers;
      w.Key("headers");
      w.StartObject();
      if (h.payload_format_indicator) write_string(w, "payloadFormatIndicator", h.payload_format_indicator->text());
      if (h.content_type) write_string(w, "contentType", h.content_type->text());
      if (h.response_topic) write_string(w, "responseTopic", h.response_topic->text());
      if (h.correlation_data) write_string(w, "correlationData", h.correlation_data->text());
      if (h.message_expiry) write_string(w, "messageExpiry", h.message_expiry->text());
      if (!h.user_properties.empty()) {
        w.Key("userProperties");
        w.StartArray();
        for (const auto& p : h.user_properties) {
          w.StartObject();
          write_string(w, "key", p.key.text());
          write_string(w, "value", p.value.text());
          w.EndObject();
        }
        w.EndArray();
      }
      w.EndObject();
    }
  } else {
    const auto& h = std::get<HttpAction>(action.kind);
    write_string(w, "url", h.url.text());
    if (h.confirmation_url) write_string(w, "confirmationUrl", *h.confirmation_url);
    if (!h.headers.empty()) {
      w.Key("headers");
      w.StartArray();
      for (const auto& header : h.headers) {
        w.StartObject();
        write_string(w, "key", header.key);
        write_string(w, "value", header.value.text());
        w.EndObject();
      }
      w.EndArray();
    }
  }
  w.EndObject();
  w.EndObject();
}

std::optional<std::string> republish_topic(const RepublishAction& action, const sql::Payload& payload,
                                           sql::EvalContext& context, std::string* why) {
  std::string rendered = action.topic.render(payload, context);
  std::string topic(unescape_reserved(rendered));
  std::string problem = topic_problem(topic);
  if (!problem.empty()) {
    *why = problem + " (republish topic '" + rendered + "')";
    return std::nullopt;
  }
  return topic;
}

}  // namespace shadow::rules
