// shadowctl rules ...: the topic rules of the broker's rules engine, through
// the same control-plane routes as aws iot create-topic-rule and the others
// (docs/rules.md), signed with the service name execute-api.
#include <rapidjson/document.h>
#include <unistd.h>

#include <string>

#include "tools/shadowctl/commands.h"
#include "tools/shadowctl/exit_codes.h"
#include "tools/shadowctl/json_input.h"

namespace shadowctl {

namespace {

constexpr const char* kService = "execute-api";

std::string rule_path(const std::string& name, const std::string& suffix = "") {
  return "/rules/" + percent_encode(name) + suffix;
}

// Explains a refused rules request and returns its exit status: a missing
// rule (UnauthorizedException, AWS's answer) is "not found", an existing
// one "conflict".
int report_rule_failure(const Context& ctx, const HttpResponse& r, const std::string& name) {
  if (r.status == 401 && r.error_type == "UnauthorizedException") {
    ctx.out.error("no rule '" + name + "' (" + error_message(r) + ")");
    ctx.out.hint("list the rules with: shadowctl rules list");
    return kExitNotFound;
  }
  if (r.status == 409 && r.error_type == "ResourceAlreadyExistsException") {
    ctx.out.error(error_message(r));
    ctx.out.hint("change it with: shadowctl rules replace " + name + " --file FILE");
    return kExitConflict;
  }
  if (r.status == 400 && (r.error_type == "SqlParseException" || r.error_type == "InvalidRequestException")) {
    ctx.out.error("the broker refused the rule (" + r.error_type + "): " + error_message(r));
    ctx.out.hint("see docs/rules.md for the SQL, the actions and their limits");
    return kExitRequestError;
  }
  if (r.status == 404) {
    ctx.out.error(ctx.http.settings().endpoint.to_string() + " has no rules API (404: " + error_message(r) + ")");
    ctx.out.hint("the broker's rules engine is off with plugin_opt_rules false");
    return kExitNotFound;
  }
  return report_failure(ctx, r, nullptr);
}

int list_rules(Context& ctx) {
  const CommandArgs& a = ctx.args();
  rapidjson::Document all(rapidjson::kObjectType);
  auto& alloc = all.GetAllocator();
  rapidjson::Value rules(rapidjson::kArrayType);
  std::string token;
  do {
    std::string query;
    auto add = [&query](const std::string& key, const std::string& value) {
      query += (query.empty() ? "" : "&") + key + "=" + percent_encode(value);
    };
    // SigV4 wants the query sorted by key.
    if (a.page_size > 0) add("maxResults", std::to_string(a.page_size));
    if (!token.empty()) add("nextToken", token);
    if (a.rule_disabled) add("ruleDisabled", *a.rule_disabled ? "true" : "false");
    if (a.rule_topic) add("topic", *a.rule_topic);
    HttpResponse r = ctx.http.send("GET", "/rules", query, "", kService);
    if (!r.ok()) return report_rule_failure(ctx, r, "");
    rapidjson::Document page;
    page.Parse(r.body.c_str(), r.body.size());
    auto listed = page.IsObject() ? page.FindMember("rules") : page.MemberEnd();
    if (page.HasParseError() || !page.IsObject() || listed == page.MemberEnd() || !listed->value.IsArray()) {
      ctx.out.error("unexpected answer to ListTopicRules: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    for (auto& rule : listed->value.GetArray()) rules.PushBack(rapidjson::Value(rule, alloc), alloc);
    auto next = page.FindMember("nextToken");
    token = next != page.MemberEnd() && next->value.IsString() ? next->value.GetString() : "";
  } while (!token.empty());

  if (ctx.out.json()) {
    all.AddMember("rules", rules, alloc);
    ctx.out.document(all);
    return kExitOk;
  }
  auto text = [](const rapidjson::Value& v, const char* key) -> std::string {
    auto m = v.FindMember(key);
    return m != v.MemberEnd() && m->value.IsString() ? m->value.GetString() : "";
  };
  for (const auto& rule : rules.GetArray()) {
    auto d = rule.FindMember("ruleDisabled");
    bool disabled = d != rule.MemberEnd() && d->value.IsBool() && d->value.GetBool();
    ctx.out.line(text(rule, "ruleName") + "  " + (disabled ? ctx.out.style("disabled", "2") : "enabled") + "  " +
                 text(rule, "topicPattern"));
  }
  if (rules.Empty() && isatty(STDOUT_FILENO) == 1) ctx.out.line(ctx.out.style("no rules", "2"));
  return kExitOk;
}

int send_payload(Context& ctx, const char* method, const char* done) {
  const std::string& name = ctx.args().rule_name;
  std::string error;
  const std::string& file = *ctx.args().file;
  auto text = read_input(file, &error);
  if (!text) {
    ctx.out.error(error);
    return kExitUsage;
  }
  rapidjson::Document payload;
  if (auto e = parse_json(*text, file == "-" ? "stdin" : file, &payload)) {
    ctx.out.error(*e);
    return kExitUsage;
  }
  HttpResponse r = ctx.http.send(method, rule_path(name), "", *text, kService);
  if (!r.ok()) return report_rule_failure(ctx, r, name);
  ctx.out.line(std::string(done) + " rule '" + name + "'");
  return kExitOk;
}

}  // namespace

int cmd_rules(Context& ctx) {
  const std::string& sub = ctx.invocation.subcommand;
  const std::string& name = ctx.args().rule_name;
  if (sub == "list") return list_rules(ctx);
  if (sub == "create") return send_payload(ctx, "POST", "created");
  if (sub == "replace") return send_payload(ctx, "PATCH", "replaced");

  HttpResponse r;
  if (sub == "get") {
    r = ctx.http.send("GET", rule_path(name), "", "", kService);
  } else if (sub == "delete") {
    r = ctx.http.send("DELETE", rule_path(name), "", "", kService);
  } else if (sub == "enable" || sub == "disable") {
    r = ctx.http.send("POST", rule_path(name, "/" + sub), "", "", kService);
  } else {
    ctx.out.error("unknown rules command '" + sub + "'");
    return kExitUsage;
  }
  if (!r.ok()) return report_rule_failure(ctx, r, name);
  if (sub == "get") {
    ctx.out.document_text(r.body);
  } else {
    ctx.out.line(sub + "d rule '" + name + "'");  // deleted, enabled, disabled
  }
  return kExitOk;
}

}  // namespace shadowctl
