// The rules engine at run time: the registry (control-plane operations
// over a store), the URL policy of http actions, the loop guard, the rules
// file and the engine turning messages into action jobs.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plugin/rules/engine/engine.h"
#include "plugin/rules/engine/loop_guard.h"
#include "plugin/rules/engine/registry.h"
#include "plugin/rules/engine/rules_file.h"
#include "plugin/rules/engine/url_policy.h"
#include "shadow_core/json.h"
#include "store/memory_store.h"

using namespace shadow;
using namespace shadow::rules;

namespace {

const std::string kRole = R"("roleArn":"arn:aws:iam::123456789012:role/unused")";

std::string republish_rule(const std::string& sql, const std::string& topic, const std::string& extra = "") {
  return R"({"sql":")" + sql + R"(","awsIotSqlVersion":"2016-03-23","actions":[{"republish":{"topic":")" + topic +
         R"(",)" + kRole + "}}]" + extra + "}";
}

json::Document parse(const std::string& text) {
  json::Document doc;
  REQUIRE(json::parse(text, &doc));
  return doc;
}

std::vector<std::string> listed_names(const std::string& body) {
  json::Document doc = parse(body);
  std::vector<std::string> names;
  for (const auto& r : doc["rules"].GetArray()) names.emplace_back(r["ruleName"].GetString());
  return names;
}

class FakeSink : public HttpSink {
 public:
  bool submit(HttpJob job) override {
    if (full) return false;
    jobs.push_back(std::move(job));
    return true;
  }
  size_t depth() const override { return jobs.size(); }
  std::vector<HttpJob> jobs;
  bool full = false;
};

struct EngineFixture {
  MemoryStore store;
  RuleRegistry registry{store, RegistryOptions{}};
  FakeSink sink;
  std::vector<std::string> logs;
  std::unique_ptr<RulesEngine> engine;

  explicit EngineFixture(const std::string& http_allow = "127.0.0.1:9999") {
    EngineOptions options;
    options.account_id = "123456789012";
    options.url_policy = UrlPolicy::parse(http_allow).value();
    options.log = [this](runtime::LogLevel, std::string line) { logs.push_back(std::move(line)); };
    engine = std::make_unique<RulesEngine>(registry, std::move(options));
    engine->set_http_sink(&sink);
  }

  void create(const std::string& name, const std::string& body) {
    auto e = registry.create(name, body, 1000);
    INFO((e ? e->message : std::string()));
    REQUIRE_FALSE(e);
  }

  std::vector<RepublishJob> run(const std::string& topic, const std::string& payload, uint64_t trail = 0,
                                const std::string& client = "dev-1") {
    InboundMessage m;
    m.topic = topic;
    m.payload = payload;
    m.client_id = client;
    m.trail = trail;
    engine->process(m, 1700000000000);
    std::vector<RepublishJob> jobs;
    while (auto job = engine->next_republish()) jobs.push_back(std::move(*job));
    return jobs;
  }
};

}  // namespace

TEST_CASE("registry: create, duplicate, get, replace, disable, enable, delete", "[rules][registry]") {
  MemoryStore store;
  RuleRegistry registry(store, RegistryOptions{"eu-west-1", "123456789012", nullptr});
  std::string body = republish_rule("SELECT * FROM 'a/+'", "b/${topic(2)}");

  REQUIRE_FALSE(registry.create("r1", body, 1700000000123));
  auto dup = registry.create("r1", body, 1700000000999);
  REQUIRE(dup);
  CHECK(dup->type() == std::string("ResourceAlreadyExistsException"));
  CHECK(dup->http_status() == 409);

  auto got = registry.get("r1");
  REQUIRE(got.ok());
  json::Document doc = parse(got.value());
  CHECK(std::string(doc["ruleArn"].GetString()) == "arn:aws:iot:eu-west-1:123456789012:rule/r1");
  CHECK(std::string(doc["rule"]["sql"].GetString()) == "SELECT * FROM 'a/+'");
  CHECK(doc["rule"]["createdAt"].GetDouble() == Approx(1700000000.123));
  CHECK(doc["rule"]["ruleDisabled"].GetBool() == false);

  auto bad_sql = registry.create("r2", republish_rule("SELECT * FORM 'a'", "b"), 1);
  REQUIRE(bad_sql);
  CHECK(bad_sql->type() == std::string("SqlParseException"));
  CHECK(bad_sql->message.find("line 1, column 10") != std::string::npos);

  REQUIRE_FALSE(registry.replace("r1", republish_rule("SELECT x FROM 'c/#'", "d")));
  got = registry.get("r1");
  doc = parse(got.value());
  CHECK(std::string(doc["rule"]["sql"].GetString()) == "SELECT x FROM 'c/#'");
  CHECK(doc["rule"]["createdAt"].GetDouble() == Approx(1700000000.123));  // kept

  uint64_t generation = registry.generation();
  CHECK(registry.snapshot()->size() == 1);
  REQUIRE_FALSE(registry.set_disabled("r1", true));
  CHECK(registry.generation() != generation);
  CHECK(registry.snapshot()->empty());
  CHECK(parse(registry.get("r1").value())["rule"]["ruleDisabled"].GetBool() == true);
  REQUIRE_FALSE(registry.set_disabled("r1", false));
  CHECK(registry.snapshot()->size() == 1);

  for (auto missing : {registry.replace("nope", body), registry.remove("nope"), registry.set_disabled("nope", true)}) {
    REQUIRE(missing);
    CHECK(missing->type() == std::string("UnauthorizedException"));
    CHECK(missing->http_status() == 401);
  }
  CHECK(registry.get("nope").error().type() == std::string("UnauthorizedException"));
  CHECK(registry.get("bad-name").error().type() == std::string("InvalidRequestException"));

  REQUIRE_FALSE(registry.remove("r1"));
  CHECK(registry.size() == 0);
  CHECK(registry.snapshot()->empty());
}

TEST_CASE("registry: rules survive a reload from the store", "[rules][registry]") {
  MemoryStore store;
  {
    RuleRegistry registry(store, RegistryOptions{});
    REQUIRE_FALSE(registry.create("kept", republish_rule("SELECT * FROM 'a'", "b"), 5000));
    REQUIRE_FALSE(registry.create("off", republish_rule("SELECT * FROM 'c'", "d", R"(,"ruleDisabled":true)"), 6000));
  }
  // A damaged record is reported and skipped, the others load.
  REQUIRE(store.put_item(RuleRegistry::kSpace, "broken", "{not json", ItemWrite::kReplace).is_ok());
  RuleRegistry again(store, RegistryOptions{});
  std::vector<std::string> skipped;
  REQUIRE(again.load(&skipped).is_ok());
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].find("broken") != std::string::npos);
  CHECK(again.size() == 2);
  CHECK(again.snapshot()->size() == 1);
  CHECK(parse(again.get("kept").value())["rule"]["createdAt"].GetDouble() == Approx(5.0));
  CHECK(parse(again.get("off").value())["rule"]["ruleDisabled"].GetBool());
}

TEST_CASE("registry: ListTopicRules pages, topic and ruleDisabled filters", "[rules][registry]") {
  MemoryStore store;
  RuleRegistry registry(store, RegistryOptions{});
  for (const char* name : {"e", "b", "d", "a", "c"}) {
    std::string topic = std::string(name) < "c" ? "t/x" : "t/y";
    std::string extra = std::string(name) == "d" ? R"(,"ruleDisabled":true)" : "";
    REQUIRE_FALSE(registry.create(name, republish_rule("SELECT * FROM '" + topic + "'", "out", extra), 1));
  }
  ListQuery q;
  q.max_results = "2";
  auto first = registry.list(q);
  REQUIRE(first.ok());
  CHECK(listed_names(first.value()) == std::vector<std::string>{"a", "b"});
  json::Document page = parse(first.value());
  REQUIRE(page.HasMember("nextToken"));
  q.next_token = page["nextToken"].GetString();
  auto second = registry.list(q);
  CHECK(listed_names(second.value()) == std::vector<std::string>{"c", "d"});
  q.next_token = parse(second.value())["nextToken"].GetString();
  auto third = registry.list(q);
  CHECK(listed_names(third.value()) == std::vector<std::string>{"e"});
  CHECK_FALSE(parse(third.value()).HasMember("nextToken"));

  ListQuery by_topic;
  by_topic.topic = "t/x";
  CHECK(listed_names(registry.list(by_topic).value()) == std::vector<std::string>{"a", "b"});
  ListQuery disabled;
  disabled.rule_disabled = "true";
  CHECK(listed_names(registry.list(disabled).value()) == std::vector<std::string>{"d"});
  json::Document item = parse(registry.list(disabled).value());
  CHECK(std::string(item["rules"][0]["topicPattern"].GetString()) == "t/y");

  ListQuery bad;
  bad.next_token = "garbage!";
  CHECK(registry.list(bad).error().type() == std::string("InvalidRequestException"));
  bad = ListQuery{};
  bad.max_results = "0";
  CHECK(registry.list(bad).error().message.find("greater than or equal to 1") != std::string::npos);
  bad.max_results = "10001";
  CHECK(registry.list(bad).error().message.find("less than or equal to 10000") != std::string::npos);
}

TEST_CASE("url policy: https anywhere, http only to allowed host:port", "[rules][url]") {
  auto policy = UrlPolicy::parse("127.0.0.1:8080, hooks.lan:80,[::1]:9000");
  REQUIRE(policy.ok());
  std::string why;
  auto https = policy->check("HTTPS://Example.COM/path?q=1", &why);
  REQUIRE(https);
  CHECK(https->origin() == "https://example.com:443");
  CHECK(https->path_and_query == "/path?q=1");
  CHECK(policy->check("http://127.0.0.1:8080/x", &why));
  CHECK(policy->check("http://hooks.lan/x", &why));
  CHECK(policy->check("http://[::1]:9000", &why)->path_and_query == "/");
  CHECK_FALSE(policy->check("http://127.0.0.1:8081/x", &why));
  CHECK(why.find("plugin_opt_rules_http_allow") != std::string::npos);
  CHECK_FALSE(policy->check("ftp://example.com/", &why));
  CHECK_FALSE(policy->check("https://user:pw@example.com/", &why));
  CHECK_FALSE(policy->check("https://example.com/a b", &why));
  CHECK_FALSE(policy->check("https://:443/", &why));

  CHECK(policy->check_template("http://10.0.0.1/hook").find("not allowed") != std::string::npos);
  CHECK(policy->check_template("http://127.0.0.1:8080/${topic()}").empty());
  CHECK(policy->check_template("http://${host}/x").empty());  // decided per message
  CHECK(policy->check_template("http://10.0.0.1:1/${topic()}").find("not allowed") != std::string::npos);

  CHECK_FALSE(UrlPolicy::parse("localhost").ok());
  CHECK_FALSE(UrlPolicy::parse("a:0").ok());
  CHECK(UrlPolicy::parse("").ok());
}

TEST_CASE("loop guard: a rule never sees what it caused", "[rules][loop]") {
  LoopGuard guard;
  uint64_t a = guard.extend(LoopGuard::kNone, "a");
  CHECK(guard.usable(a));
  CHECK_FALSE(guard.allows(a, "a"));
  CHECK(guard.allows(a, "b"));
  uint64_t ab = guard.extend(a, "b");
  CHECK_FALSE(guard.allows(ab, "a"));
  CHECK_FALSE(guard.allows(ab, "b"));
  CHECK(guard.allows(ab, "c"));
  CHECK(guard.extend(LoopGuard::kNone, "a") == a);  // one-rule trails are reused
  CHECK(guard.allows(LoopGuard::kNone, "a"));
  CHECK_FALSE(guard.usable(LoopGuard::kNoRules));
  // A trail pushed out of the table is fed to no rule.
  for (size_t i = 0; i < LoopGuard::kSlots; i++) guard.extend(ab, "c");
  CHECK_FALSE(guard.usable(ab));
  CHECK_FALSE(guard.allows(ab, "z"));
}

TEST_CASE("engine: republish with templates, WHERE, and the SELECT output", "[rules][engine]") {
  EngineFixture f;
  f.create("trim", republish_rule("SELECT state FROM '$aws/things/+/shadow/update/delta' WHERE state.temp > 20",
                                  "${topic(3)}/shadow/trimmed/update"));
  CHECK(f.engine->wants("$aws/things/dev1/shadow/update/delta"));
  CHECK_FALSE(f.engine->wants("$aws/things/dev1/shadow/update/accepted"));

  auto jobs = f.run("$aws/things/dev1/shadow/update/delta", R"({"version":3,"state":{"temp":25},"metadata":{}})");
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].target.topic == "dev1/shadow/trimmed/update");
  CHECK(jobs[0].payload == R"({"state":{"temp":25}})");
  CHECK(jobs[0].trail != LoopGuard::kNone);
  f.engine->republish_done(jobs[0], nullptr);
  CHECK(f.run("$aws/things/dev1/shadow/update/delta", R"({"state":{"temp":5}})").empty());

  // The message the republish caused does not run the same rule again.
  CHECK(f.run("$aws/things/dev1/shadow/update/delta", R"({"state":{"temp":30}})", jobs[0].trail).empty());
  CHECK(f.engine->counters().loop_guard_skips == 1);
  std::string metrics = f.engine->render_metrics();
  CHECK(metrics.find("shadow_rule_matched_total{rule=\"trim\"} 1") != std::string::npos);
  CHECK(metrics.find("shadow_rule_actions_executed_total{rule=\"trim\"} 1") != std::string::npos);
}

TEST_CASE("engine: rules sharing a FROM filter all run, in name order", "[rules][engine]") {
  EngineFixture f;
  // d and b share a filter, a has a wildcard first level, c another filter
  // of the same first level that does not match.
  f.create("d", republish_rule("SELECT 'd' AS r FROM 'x/+/y'", "out/d"));
  f.create("b", republish_rule("SELECT 'b' AS r FROM 'x/+/y'", "out/b"));
  f.create("a", republish_rule("SELECT 'a' AS r FROM '+/k/#'", "out/a"));
  f.create("c", republish_rule("SELECT 'c' AS r FROM 'x/k/z'", "out/c"));
  CHECK(f.engine->wants("x/k/y"));
  CHECK(f.engine->wants("q/k"));
  CHECK_FALSE(f.engine->wants("x/y/z"));
  std::vector<std::string> topics;
  for (const RepublishJob& job : f.run("x/k/y", "{}")) topics.push_back(job.target.topic);
  CHECK(topics == std::vector<std::string>{"out/a", "out/b", "out/d"});
  topics.clear();
  for (const RepublishJob& job : f.run("x/k/z", "{}")) topics.push_back(job.target.topic);
  CHECK(topics == std::vector<std::string>{"out/a", "out/c"});
}

TEST_CASE("engine: reserved topics, MQTT 5 headers and a created rule applies at once", "[rules][engine]") {
  EngineFixture f;
  CHECK(f.run("my/things/dev7/update", R"({"state":{"reported":{"connected":"false"}}})").empty());
  f.create("will", republish_rule("SELECT * FROM 'my/things/+/update'", "$$aws/things/${topic(3)}/shadow/update",
                                  ""));
  auto jobs = f.run("my/things/dev7/update", R"({"state":{"reported":{"connected":"false"}}})");
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].target.topic == "$aws/things/dev7/shadow/update");
  CHECK(jobs[0].payload == R"({"state":{"reported":{"connected":"false"}}})");

  f.create("headers", R"({"sql":"SELECT * FROM 'h/+'","actions":[{"republish":{"topic":"out",)" + kRole +
                          R"(,"qos":1,"headers":{"contentType":"application/json","correlationData":"YWJj",)"
                          R"("messageExpiry":"${60 * 2}","payloadFormatIndicator":"UTF8_DATA",)"
                          R"("userProperties":[{"key":"from","value":"${clientid()}"}]}}}]})");
  jobs = f.run("h/1", "{}");
  REQUIRE(jobs.size() == 1);
  REQUIRE(jobs[0].target.properties);
  const MqttProperties& p = *jobs[0].target.properties;
  CHECK(jobs[0].target.qos == 1);
  CHECK(p.content_type == std::optional<std::string>("application/json"));
  CHECK(p.correlation_data == std::optional<std::string>("abc"));
  CHECK(p.message_expiry_s == std::optional<uint32_t>(120));
  CHECK(p.payload_format_indicator == std::optional<uint8_t>(1));
  REQUIRE(p.user_properties.size() == 1);
  CHECK(p.user_properties[0] == std::pair<std::string, std::string>("from", "dev-1"));
}

TEST_CASE("engine: http jobs, the queue bound and the errorAction document", "[rules][engine]") {
  EngineFixture f;
  f.create("notify", R"({"sql":"SELECT current.state.reported AS reported FROM '$aws/things/+/shadow/update/documents' WHERE current.state.reported.temperature > 30",)"
                     R"("actions":[{"http":{"url":"http://127.0.0.1:9999/alert","headers":[{"key":"x-thing","value":"${topic(3)}"}]}}],)"
                     R"("errorAction":{"republish":{"topic":"errors/${topic(3)}",)" + kRole + "}}}");
  std::string doc = R"({"current":{"state":{"reported":{"temperature":35}}}})";
  CHECK(f.run("$aws/things/oven/shadow/update/documents", doc).empty());
  REQUIRE(f.sink.jobs.size() == 1);
  HttpJob job = f.sink.jobs[0];
  CHECK(job.target.url == "http://127.0.0.1:9999/alert");
  CHECK(job.body == R"({"reported":{"temperature":35}})");
  REQUIRE(job.target.headers.size() == 1);
  CHECK(job.target.headers[0].second == "oven");

  // A failure reported by a worker becomes an error document for the broker thread.
  f.engine->http_failed(job, "answered HTTP 500 (after 3 tries)");
  auto errors = f.run("unrelated/topic", "{}");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].target.topic == "errors/oven");
  CHECK(errors[0].owner.error_action);
  json::Document report = parse(errors[0].payload);
  CHECK(std::string(report["ruleName"].GetString()) == "notify");
  CHECK(std::string(report["topic"].GetString()) == "$aws/things/oven/shadow/update/documents");
  CHECK(std::string(report["clientId"].GetString()) == "dev-1");
  CHECK(std::string(report["failures"][0]["failedAction"].GetString()) == "HttpAction");
  CHECK(std::string(report["failures"][0]["failedResource"].GetString()) == "http://127.0.0.1:9999/alert");
  CHECK(std::string(report["failures"][0]["errorMessage"].GetString()) == "answered HTTP 500 (after 3 tries)");
  CHECK(std::string(report["base64OriginalPayload"].GetString()).size() > 10);
  CHECK(errors[0].trail != LoopGuard::kNone);  // the error document does not run its rule again

  // Over the queue bound: dropped, counted, and reported too.
  f.sink.full = true;
  CHECK(f.run("$aws/things/oven/shadow/update/documents", doc).size() == 1);
  std::string metrics = f.engine->render_metrics();
  CHECK(metrics.find("shadow_rule_actions_dropped_total{rule=\"notify\"} 1") != std::string::npos);
  CHECK(metrics.find("shadow_rule_actions_failed_total{rule=\"notify\"} 1") != std::string::npos);
  CHECK(metrics.find("shadow_rule_matched_total{rule=\"notify\"} 2") != std::string::npos);
}

TEST_CASE("engine: a URL the policy refuses fails the action; SQL errors are counted", "[rules][engine]") {
  EngineFixture f("");
  f.create("hook", R"({"sql":"SELECT * FROM 'x'","actions":[{"http":{"url":"https://${host}/h","confirmationUrl":"https://"}}]})");
  f.run("x", R"({"host":"example.com"})");
  CHECK(f.sink.jobs.size() == 1);
  f.run("x", R"({"host":"bad host"})");
  CHECK(f.sink.jobs.size() == 1);
  CHECK(f.engine->render_metrics().find("shadow_rule_actions_failed_total{rule=\"hook\"} 1") != std::string::npos);

  f.create("star", republish_rule("SELECT *, 1 AS one FROM 'bin'", "out"));
  CHECK(f.run("bin", "not json").empty());
  CHECK(f.engine->render_metrics().find("shadow_rule_sql_errors_total{rule=\"star\"} 1") != std::string::npos);
}

TEST_CASE("rules file: one definition, an array, a directory", "[rules][file]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rules-file-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
  };
  std::string one = R"({"ruleName":"one","topicRulePayload":{"sql":"SELECT * FROM 'a'","actions":[]}})";
  write("1.json", one);
  write("2.json", R"([{"ruleName":"two","topicRulePayload":{"sql":"SELECT * FROM 'b'","actions":[]},"tags":"x=y"}])");
  write("ignored.txt", "not json");
  auto defs = read_rule_definitions(dir.string());
  REQUIRE(defs.ok());
  REQUIRE(defs->size() == 2);
  CHECK(defs.value()[0].name == "one");
  CHECK(defs.value()[1].name == "two");
  CHECK(defs.value()[1].source.find("2.json[0]") != std::string::npos);

  MemoryStore store;
  RuleRegistry registry(store, RegistryOptions{});
  CHECK(registry.apply("one", defs.value()[0].payload, 1).value() == RuleRegistry::Applied::kCreated);
  CHECK(registry.apply("one", defs.value()[0].payload, 2).value() == RuleRegistry::Applied::kUnchanged);
  CHECK(registry.apply("one", R"({"sql":"SELECT * FROM 'z'","actions":[]})", 3).value() ==
        RuleRegistry::Applied::kReplaced);
  CHECK(registry.apply("one", R"({"sql":"SELECT","actions":[]})", 3).error().type() ==
        std::string("SqlParseException"));

  write("3.json", one);
  auto dup = read_rule_definitions(dir.string());
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message().find("more than once") != std::string::npos);
  write("3.json", R"({"name":"x"})");
  CHECK(read_rule_definitions((dir / "3.json").string()).status().message().find("ruleName") != std::string::npos);
  CHECK_FALSE(read_rule_definitions((dir / "missing").string()).ok());
  fs::remove_all(dir);
}
