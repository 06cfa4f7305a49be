// libFuzzer target for the rules engine's SQL (plugin/rules/sql) and rule
// model (plugin/rules): compiling statements and substitution templates,
// evaluating them on payloads, and parsing TopicRulePayload bodies.
//
// Input encoding (text, like shadow_fuzz's, so seeds are easy to write):
// records separated by "\n%%\n":
//   1. a SQL statement; it is also compiled as a substitution template and
//      parsed as a TopicRulePayload body
//   2. the message payload (any bytes)
//   3. the message topic (default "a/b")
//   4. a substitution template rendered against the message
// Missing records are empty.
//
// After each step the invariants that hold for ANY input are checked; a
// violation calls abort() so libFuzzer reports it with the input:
//  - nothing crashes, leaks or reads out of bounds (ASan, UBSan);
//  - a compile error's message names a line and column;
//  - an output of kind kJson serializes to JSON that parses again;
//  - evaluating twice into the same Output gives the same bytes, except for
//    the functions that are random by design (newuuid, rand);
//  - a parsed TopicRulePayload's canonical JSON parses back to the same JSON.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/rules/sql/encoding.h"
#include "plugin/rules/sql/statement.h"
#include "plugin/rules/sql/substitution_template.h"
#include "plugin/rules/topic_rule.h"

namespace {

using namespace shadow;
using namespace shadow::rules;

constexpr std::string_view kRecordSeparator = "\n%%\n";

[[noreturn]] void violation(const char* what, const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n%s\n", what, detail.c_str());
  std::abort();
}

std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> records;
  for (;;) {
    size_t at = input.find(kRecordSeparator);
    if (at == std::string_view::npos) {
      records.push_back(input);
      break;
    }
    records.push_back(input.substr(0, at));
    input.remove_prefix(at + kRecordSeparator.size());
  }
  records.resize(std::max<size_t>(records.size(), 4));
  return records;
}

void check_error_message(const Status& status, const char* what) {
  if (status.message().find("line ") == std::string::npos || status.message().find("column ") == std::string::npos)
    violation(what, status.message());
}

bool uses_randomness(std::string_view text) {
  for (std::string_view name : {"newuuid", "rand"}) {
    for (size_t i = 0; i + name.size() <= text.size(); ++i)
      if (sql::equals_ignore_case(text.substr(i, name.size()), name)) return true;
  }
  return false;
}

void run_statement(std::string_view text, const sql::Payload& payload, sql::MessageContext& context) {
  auto compiled = sql::Statement::compile(text);
  if (!compiled.ok()) {
    check_error_message(compiled.status(), "a SQL compile error without a position");
    return;
  }
  (void)compiled->from().matches(context.topic_name);
  sql::Output out;
  bool matched = compiled->evaluate(payload, context, &out);
  if (matched != out.matched()) violation("evaluate() disagrees with Output::matched()", std::string(text));
  std::string first = out.to_string();
  if (out.kind() == sql::Output::Kind::kJson) {
    json::Document doc;
    if (!json::parse(first, &doc)) violation("the output is not JSON", first);
  }
  compiled->evaluate(payload, context, &out);
  if (!uses_randomness(text) && out.to_string() != first)
    violation("a second evaluation into the same Output differs", first + "\n" + out.to_string());
}

void run_template(std::string_view text, const sql::Payload& payload, sql::MessageContext& context) {
  auto compiled = sql::SubstitutionTemplate::compile(text);
  if (!compiled.ok()) {
    check_error_message(compiled.status(), "a template compile error without a position");
    return;
  }
  std::string rendered = compiled->render(payload, context);
  if (!compiled->has_substitutions() && rendered != text) violation("a constant template changed", rendered);
}

void run_rule_payload(std::string_view body) {
  auto parsed = parse_topic_rule_payload(body);
  if (!parsed.ok()) {
    if (parsed.error().message.empty()) violation("a rule error without a message", std::string(body));
    return;
  }
  std::string canonical = payload_json(*parsed);
  auto again = parse_topic_rule_payload(canonical);
  if (!again.ok()) violation("the canonical JSON of a rule does not parse", canonical + "\n" + again.error().message);
  if (payload_json(*again) != canonical) violation("the canonical JSON of a rule changed", canonical);
}

}  // namespace

#ifdef SHADOW_UBSAN_SUPPRESSIONS
// As in shadow_fuzz: stop at the first UBSan report, skip the known
// third-party one (ubsan.supp). The environment still overrides these.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" SHADOW_UBSAN_SUPPRESSIONS;
}
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> records = split(input);

  sql::MessageContext context;
  context.topic_name = records[2].empty() ? "a/b" : std::string(records[2]);
  context.client = "fuzz-client";
  context.principal_name = "fuzz-principal";
  context.now_ms = 1700000000000;
  context.account = "123456789012";
  context.shadow_reader = [](std::string_view thing, std::string_view, json::Value* out, json::Allocator& alloc) {
    if (thing != "t") return false;
    json::Document doc(&alloc);
    if (!json::parse(R"({"state":{"reported":{"temp":21.5,"on":true}},"version":3})", &doc)) std::abort();
    out->Swap(doc);
    return true;
  };

  sql::PayloadParser parser;
  std::string payload_bytes(records[1]);
  sql::Payload payload = parser.parse(payload_bytes);

  run_statement(records[0], payload, context);
  run_template(records[0], payload, context);
  run_template(records[3], payload, context);
  run_rule_payload(records[0]);
  return 0;
}
