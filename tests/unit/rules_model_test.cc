// The rule model: TopicRulePayload bodies as `aws iot create-topic-rule`
// sends them, validated with AWS's rules and exception types, and rules
// written back as GetTopicRule / ListTopicRules return them.
#include <catch2/catch.hpp>

#include <string>

#include "plugin/rules/rule_name.h"
#include "plugin/rules/topic_rule.h"

using namespace shadow;
using namespace shadow::rules;

namespace {

// The body of AWS's republish example, with the SQL and action swapped in.
std::string body(const std::string& sql, const std::string& actions, const std::string& extra = "") {
  return R"({"sql":")" + sql + R"(","ruleDisabled":false,"awsIotSqlVersion":"2016-03-23","actions":)" + actions +
         extra + "}";
}

const std::string kRepublish = R"([{"republish":{"topic":"another/topic","qos":1,"roleArn":"arn:aws:iam::123456789012:role/aws_iot_republish"}}])";

// "<Type>: <message>" of a refused body, or "ok".
std::string outcome(const std::string& json) {
  auto p = parse_topic_rule_payload(json);
  if (p.ok()) return "ok";
  return std::string(p.error().type()) + ": " + p.error().message;
}

}  // namespace

TEST_CASE("rule names follow AWS's pattern and length", "[rules]") {
  CHECK_FALSE(check_rule_name("my_rule_1"));
  CHECK_FALSE(check_rule_name(std::string(128, 'a')));
  auto dash = check_rule_name("my-rule");
  REQUIRE(dash);
  CHECK(dash->exception == RuleException::kInvalidRequest);
  CHECK(dash->type() == std::string("InvalidRequestException"));
  CHECK(dash->http_status() == 400);
  CHECK(dash->message ==
        "1 validation error detected: Value 'my-rule' at 'ruleName' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: ^[a-zA-Z0-9_]+$");
  auto empty = check_rule_name("");
  REQUIRE(empty);
  CHECK(empty->message.find("Member must have length greater than or equal to 1") != std::string::npos);
  auto longer = check_rule_name(std::string(129, 'a'));
  REQUIRE(longer);
  CHECK(longer->message.find("Member must have length less than or equal to 128") != std::string::npos);
  CHECK(check_rule_name("caf\xC3\xA9"));
  CHECK(check_rule_name("a b"));
  CHECK(rule_arn("us-east-1", "123456789012", "r1") == "arn:aws:iot:us-east-1:123456789012:rule/r1");
}

TEST_CASE("a valid TopicRulePayload with republish and http actions", "[rules]") {
  std::string json = R"({
    "sql": "SELECT * FROM 'some/topic'",
    "description": "forwards",
    "ruleDisabled": true,
    "awsIotSqlVersion": "2016-03-23",
    "actions": [
      {"republish": {"topic": "${topic()}/republish", "roleArn": "arn:aws:iam::123456789012:role/r",
                     "headers": {"contentType": "application/json", "userProperties": [{"key": "k", "value": "${a}"}]}}},
      {"http": {"url": "https://www.example.com/subpath", "confirmationUrl": "https://www.example.com",
                "headers": [{"key": "static_header_key", "value": "static_header_value"},
                            {"key": "substitutable_header_key", "value": "${value_from_payload}"}]}}
    ],
    "errorAction": {"republish": {"topic": "errors", "roleArn": "arn:aws:iam::123456789012:role/r", "qos": 1}}
  })";
  auto p = parse_topic_rule_payload(json);
  REQUIRE(p.ok());
  CHECK(p->sql == "SELECT * FROM 'some/topic'");
  CHECK(p->description == "forwards");
  CHECK(p->rule_disabled);
  CHECK(p->topic_pattern() == "some/topic");
  CHECK(listed_for_topic(*p, "some/topic"));
  CHECK_FALSE(listed_for_topic(*p, "some/other"));
  REQUIRE(p->actions.size() == 2);
  CHECK(p->actions[0].type() == std::string("republish"));
  CHECK(p->actions[1].failed_action() == std::string("HttpAction"));
  const auto& republish = std::get<RepublishAction>(p->actions[0].kind);
  CHECK(republish.topic.has_substitutions());
  CHECK(republish.qos == 0);  // AWS's default
  REQUIRE(republish.headers);
  CHECK(republish.headers->content_type->text() == "application/json");
  REQUIRE(republish.headers->user_properties.size() == 1);
  const auto& http = std::get<HttpAction>(p->actions[1].kind);
  CHECK(http.url.text() == "https://www.example.com/subpath");
  REQUIRE(http.headers.size() == 2);
  CHECK(http.headers[1].value.has_substitutions());
  REQUIRE(p->error_action);
  CHECK(std::get<RepublishAction>(p->error_action->kind).qos == 1);

  // The canonical JSON reads back into the same rule.
  std::string stored = payload_json(*p);
  CHECK(stored ==
        R"({"sql":"SELECT * FROM 'some/topic'","description":"forwards","actions":[{"republish":{"roleArn":)"
        R"("arn:aws:iam::123456789012:role/r","topic":"${topic()}/republish","qos":0,"headers":{"contentType":)"
        R"("application/json","userProperties":[{"key":"k","value":"${a}"}]}}},{"http":{"url":)"
        R"("https://www.example.com/subpath","confirmationUrl":"https://www.example.com","headers":[{"key":)"
        R"("static_header_key","value":"static_header_value"},{"key":"substitutable_header_key","value":)"
        R"("${value_from_payload}"}]}}],"ruleDisabled":true,"awsIotSqlVersion":"2016-03-23","errorAction":)"
        R"({"republish":{"roleArn":"arn:aws:iam::123456789012:role/r","topic":"errors","qos":1}}})");
  auto again = parse_topic_rule_payload(stored);
  REQUIRE(again.ok());
  CHECK(payload_json(*again) == stored);

  TopicRule rule{"my_rule", std::move(p).value(), 1700000000123};
  std::string arn = rule_arn("us-east-1", "123456789012", "my_rule");
  std::string got = get_topic_rule_json(rule, arn);
  CHECK(got.rfind(R"({"ruleArn":"arn:aws:iot:us-east-1:123456789012:rule/my_rule","rule":{"ruleName":"my_rule",)"
                  R"("createdAt":1700000000.123,"sql":"SELECT * FROM 'some/topic'",)",
                  0) == 0);
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  write_list_item(rule, arn, writer);
  CHECK(std::string(buffer.GetString()) ==
        R"({"ruleArn":"arn:aws:iot:us-east-1:123456789012:rule/my_rule","ruleName":"my_rule",)"
        R"("topicPattern":"some/topic","createdAt":1700000000.123,"ruleDisabled":true})");
}

TEST_CASE("defaults: no description, enabled, SQL version 2016-03-23, no actions", "[rules]") {
  auto p = parse_topic_rule_payload(R"({"sql":"SELECT * FROM 'a/b'","actions":[]})");
  REQUIRE(p.ok());
  CHECK(p->description.empty());
  CHECK_FALSE(p->rule_disabled);
  CHECK(p->aws_iot_sql_version == "2016-03-23");
  CHECK(p->actions.empty());
  CHECK_FALSE(p->error_action);
  // An SDK may send absent members as null.
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a/b'","actions":[],"description":null,"errorAction":null})") == "ok");
}

TEST_CASE("SQL errors are SqlParseException with the position", "[rules]") {
  CHECK(outcome(body("SELECT FROM 'a/b'", kRepublish)) ==
        "SqlParseException: SQL syntax error at line 1, column 8: expected an expression but found 'FROM'");
  CHECK(outcome(body("SELECT aws_lambda('f', *) FROM 'a/b'", kRepublish)) ==
        "SqlParseException: SQL syntax error at line 1, column 8: function aws_lambda is not supported by this "
        "broker (docs/rules.md lists the functions it has)");
  auto p = parse_topic_rule_payload(body("SELECT FROM 'a/b'", kRepublish));
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().http_status() == 400);
}

TEST_CASE("the SQL version must be 2016-03-23", "[rules]") {
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a'","actions":[],"awsIotSqlVersion":"2015-10-08"})") ==
        "InvalidRequestException: SQL version 2015-10-08 is not supported by this broker: set awsIotSqlVersion to "
        "2016-03-23 (docs/rules.md)");
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a'","actions":[],"awsIotSqlVersion":"beta"})").find(
            "SQL version beta is not supported") != std::string::npos);
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a'","actions":[],"awsIotSqlVersion":"2020-01-01"})") ==
        "InvalidRequestException: Invalid awsIotSqlVersion '2020-01-01': the supported version is 2016-03-23");
}

TEST_CASE("structural errors name the field as AWS does", "[rules]") {
  CHECK(outcome("") ==
        "InvalidRequestException: The request body must be a TopicRulePayload: a JSON object with sql and actions");
  CHECK(outcome("[1]").rfind("InvalidRequestException: The request body must be", 0) == 0);
  CHECK(outcome("{not json").rfind("InvalidRequestException: The request body must be", 0) == 0);
  CHECK(outcome(R"({"actions":[]})") ==
        "InvalidRequestException: 1 validation error detected: Value null at 'topicRulePayload.sql' failed to "
        "satisfy constraint: Member must not be null");
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a'"})") ==
        "InvalidRequestException: 1 validation error detected: Value null at 'topicRulePayload.actions' failed to "
        "satisfy constraint: Member must not be null");
  CHECK(outcome(R"({"sql":5,"actions":[]})") ==
        "InvalidRequestException: 1 validation error detected: Value '5' at 'topicRulePayload.sql' failed to "
        "satisfy constraint: Member must be a string");
  CHECK(outcome(R"({"sql":"SELECT * FROM 'a'","actions":[],"ruleDisabled":"yes"})") ==
        "InvalidRequestException: 1 validation error detected: Value '\"yes\"' at 'topicRulePayload.ruleDisabled' "
        "failed to satisfy constraint: Member must be a boolean");
  std::string eleven = "[";
  for (int i = 0; i < 11; ++i) eleven += std::string(i ? "," : "") + R"({"republish":{"topic":"t","roleArn":"r"}})";
  eleven += "]";
  CHECK(outcome(body("SELECT * FROM 'a'", eleven)).find("Member must have length less than or equal to 10") !=
        std::string::npos);
  std::string deep = R"({"sql":"SELECT * FROM 'a'","actions":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  CHECK(outcome(deep).find("nests deeper than a TopicRulePayload can") != std::string::npos);
}

TEST_CASE("action types other than republish and http are refused, naming them", "[rules]") {
  CHECK(outcome(body("SELECT * FROM 'a'", R"([{"lambda":{"functionArn":"arn:aws:lambda:us-east-1:1:function:f"}}])")) ==
        "InvalidRequestException: The lambda action (topicRulePayload.actions.1.member.lambda) is not supported by "
        "this broker: it runs republish and http actions (docs/rules.md)");
  CHECK(outcome(body("SELECT * FROM 'a'", kRepublish, R"(,"errorAction":{"s3":{"bucketName":"b"}})")) ==
        "InvalidRequestException: The s3 action (topicRulePayload.errorAction.s3) is not supported by this broker: "
        "it runs republish and http actions (docs/rules.md)");
  CHECK(outcome(body("SELECT * FROM 'a'", R"([{"dynamoDBv2":{}}])")).find("The dynamoDBv2 action") != std::string::npos);
  CHECK(outcome(body("SELECT * FROM 'a'", R"([{"frobnicate":{}}])")) ==
        "InvalidRequestException: Unknown action type 'frobnicate' in topicRulePayload.actions.1.member: this broker "
        "runs republish and http actions");
  CHECK(outcome(body("SELECT * FROM 'a'", R"([{}])")) ==
        "InvalidRequestException: An action must have one action type (republish or http); "
        "topicRulePayload.actions.1.member has none");
  CHECK(outcome(body("SELECT * FROM 'a'", R"([{"republish":{"topic":"t","roleArn":"r"},"http":{"url":"https://x"}}])")) ==
        "InvalidRequestException: An action must have exactly one action type; topicRulePayload.actions.1.member "
        "has republish and http");
}

TEST_CASE("republish actions are checked with AWS's rules", "[rules]") {
  auto republish = [](const std::string& inner) { return outcome(body("SELECT * FROM 'a'", "[{\"republish\":" + inner + "}]")); };
  CHECK(republish(R"({"topic":"t","roleArn":"r"})") == "ok");
  CHECK(republish(R"({"topic":"$$aws/things/t/shadow/update","roleArn":"r"})") == "ok");
  CHECK(republish(R"({"roleArn":"r"})") ==
        "InvalidRequestException: 1 validation error detected: Value null at "
        "'topicRulePayload.actions.1.member.republish.topic' failed to satisfy constraint: Member must not be null");
  CHECK(republish(R"({"topic":"t"})").find("'topicRulePayload.actions.1.member.republish.roleArn'") !=
        std::string::npos);
  CHECK(republish(R"({"topic":"t","roleArn":"r","qos":2})") ==
        "InvalidRequestException: 1 validation error detected: Value '2' at "
        "'topicRulePayload.actions.1.member.republish.qos' failed to satisfy constraint: Member must have value "
        "less than or equal to 1");
  CHECK(republish(R"({"topic":"t","roleArn":"r","qos":-1})").find("greater than or equal to 0") != std::string::npos);
  CHECK(republish(R"({"topic":"t","roleArn":"r","qos":"1"})").find("Member must be an integer") != std::string::npos);
  CHECK(republish(R"({"topic":"a/+/b","roleArn":"r"})") ==
        "InvalidRequestException: Invalid republish topic in topicRulePayload.actions.1.member.republish.topic: the "
        "topic contains a wildcard (+ or #)");
  CHECK(republish(R"({"topic":"","roleArn":"r"})").find("the topic is empty") != std::string::npos);
  CHECK(republish(R"({"topic":"x/${nope(1)}","roleArn":"r"})") ==
        "InvalidRequestException: Invalid substitution template in topicRulePayload.actions.1.member.republish.topic: "
        "substitution template error at line 1, column 5: function nope is not supported: AWS IoT SQL has no "
        "function of that name");
  CHECK(republish(R"({"topic":"x/${a","roleArn":"r"})").find("'${' is not closed by '}'") != std::string::npos);
  CHECK(republish(R"({"topic":"t","roleArn":"r","headers":{"payloadFormatIndicator":"JSON"}})") ==
        "InvalidRequestException: 1 validation error detected: Value 'JSON' at "
        "'topicRulePayload.actions.1.member.republish.headers.payloadFormatIndicator' failed to satisfy constraint: "
        "Member must satisfy enum value set: [UNSPECIFIED_BYTES, UTF8_DATA]");
  CHECK(republish(R"({"topic":"t","roleArn":"r","headers":{"payloadFormatIndicator":"UTF8_DATA","messageExpiry":"${e}"}})") == "ok");
  CHECK(republish(R"({"topic":"t","roleArn":"r","headers":{"userProperties":[]}})").find(
            "Member must have length greater than or equal to 1") != std::string::npos);
  CHECK(republish(R"({"topic":"t","roleArn":"r","headers":{"userProperties":[{"key":"k"}]}})").find(
            "'topicRulePayload.actions.1.member.republish.headers.userProperties.1.member.value'") != std::string::npos);
  CHECK(republish(R"({"topic":"t","roleArn":"r","headers":{"contentType":")" + std::string(1025, 'x') + "\"}}")
            .find("Member must have length less than or equal to 1024") != std::string::npos);
}

TEST_CASE("http actions are checked with AWS's rules", "[rules]") {
  auto http = [](const std::string& inner) { return outcome(body("SELECT * FROM 'a'", "[{\"http\":" + inner + "}]")); };
  CHECK(http(R"({"url":"https://example.com/hook"})") == "ok");
  CHECK(http(R"({"url":"http://127.0.0.1:8080/hook"})") == "ok");
  CHECK(http(R"({"url":"https://example.com/${topic(2)}","confirmationUrl":"https://example.com"})") == "ok");
  CHECK(http(R"({"url":"https://example.com/${topic(2)}"})") ==
        "InvalidRequestException: Invalid http action in topicRulePayload.actions.1.member.http: a url with "
        "substitution templates needs a confirmationUrl that it begins with");
  CHECK(http(R"({"url":"https://example.com/x","confirmationUrl":"https://other.com"})") ==
        "InvalidRequestException: Invalid http action in topicRulePayload.actions.1.member.http: the url must begin "
        "with the confirmationUrl");
  CHECK(http(R"({"url":"ftp://example.com"})") ==
        "InvalidRequestException: Invalid url in topicRulePayload.actions.1.member.http.url: it must start with "
        "https:// or http:// and a host");
  CHECK(http(R"({"url":"https://"})").find("Invalid url") != std::string::npos);
  CHECK(http(R"({"url":"${u}","confirmationUrl":""})").find("Invalid url") != std::string::npos);
  CHECK(http(R"({"url":"https://)" + std::string(2000, 'x') + "\"}").find(
            "Member must have length less than or equal to 2000") != std::string::npos);
  CHECK(http(R"({})").find("'topicRulePayload.actions.1.member.http.url' failed to satisfy constraint: Member must "
                           "not be null") != std::string::npos);
  CHECK(http(R"({"url":"https://e.com","headers":[{"key":"","value":"v"}]})").find(
            "Member must have length greater than or equal to 1") != std::string::npos);
  CHECK(http(R"({"url":"https://e.com","headers":[{"key":"bad key","value":"v"}]})") ==
        "InvalidRequestException: Invalid http header name in "
        "topicRulePayload.actions.1.member.http.headers.1.member.key: 'bad key'");
  CHECK(http(R"({"url":"https://e.com","auth":{"sigv4":{"roleArn":"r","serviceName":"s","signingRegion":"x"}}})") ==
        "InvalidRequestException: The auth member of the http action (topicRulePayload.actions.1.member.http.auth, "
        "SigV4 signing with an IAM role) is not supported by this broker");
}

TEST_CASE("republish topics are rendered per message", "[rules]") {
  auto p = parse_topic_rule_payload(body(
      "SELECT * FROM 'a/+'",
      R"([{"republish":{"topic":"$$aws/things/${topic(2)}/shadow/update","roleArn":"r"}},)"
      R"({"republish":{"topic":"out/${missing}","roleArn":"r"}},{"republish":{"topic":"${w}","roleArn":"r"}}])"));
  REQUIRE(p.ok());
  sql::MessageContext ctx;
  ctx.topic_name = "a/dev1";
  std::string bytes = R"({"w":"x/#"})";
  sql::PayloadParser parser;
  sql::Payload payload = parser.parse(bytes);
  std::string why;
  auto first = republish_topic(std::get<RepublishAction>(p->actions[0].kind), payload, ctx, &why);
  REQUIRE(first);
  CHECK(*first == "$aws/things/dev1/shadow/update");  // "$$" is how a rule names a reserved topic
  auto second = republish_topic(std::get<RepublishAction>(p->actions[1].kind), payload, ctx, &why);
  REQUIRE(second);
  CHECK(*second == "out/");
  CHECK_FALSE(republish_topic(std::get<RepublishAction>(p->actions[2].kind), payload, ctx, &why));
  CHECK(why == "the topic contains a wildcard (+ or #) (republish topic 'x/#')");
}

TEST_CASE("the errorAction document has AWS's shape", "[rules]") {
  ErrorActionInput in;
  in.rule_name = "TestAction";
  in.topic = "testme/action";
  in.trace_id = "7e146a2c-95b5-6caf-98b9-50e3969734c7";
  in.client_id = "iotconsole-1511213971966-0";
  in.payload = "{\n  \"message\": \"Hello\"\n}";
  in.failures.push_back({"HttpAction", "https://example.com/hook", "HTTP 503 from https://example.com/hook"});
  CHECK(error_action_document(in) ==
        R"({"ruleName":"TestAction","topic":"testme/action","cloudwatchTraceId":"7e146a2c-95b5-6caf-98b9-50e3969734c7",)"
        R"("clientId":"iotconsole-1511213971966-0","base64OriginalPayload":"ewogICJtZXNzYWdlIjogIkhlbGxvIgp9",)"
        R"("failures":[{"failedAction":"HttpAction","failedResource":"https://example.com/hook",)"
        R"("errorMessage":"HTTP 503 from https://example.com/hook"}]})");
}
