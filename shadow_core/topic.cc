#include "shadow_core/topic.h"

#include <array>

namespace shadow {
namespace {

constexpr std::string_view kAwsThings = "$aws/things/";

std::optional<Operation> parse_operation(std::string_view s) {
  if (s == "get") return Operation::kGet;
  if (s == "update") return Operation::kUpdate;
  if (s == "delete") return Operation::kDelete;
  return std::nullopt;
}

// Splits at most `max` levels; returns the level count, or max + 1 when there are more.
size_t split_levels(std::string_view topic, std::array<std::string_view, 5>& out) {
  size_t n = 0;
  size_t start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    if (n == out.size()) return out.size() + 1;
    out[n++] = topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (slash == std::string_view::npos) return n;
    start = slash + 1;
  }
}

}  // namespace

std::optional<RequestTopic> parse_request_topic(std::string_view topic, bool short_form_enabled) {
  RequestTopic out;
  std::string_view rest;
  if (topic.starts_with(kAwsThings)) {
    out.form = TopicForm::kAws;
    rest = topic.substr(kAwsThings.size());
  } else {
    // A short-form topic must not start with '$' ($SYS, $aws/..., $share).
    if (!short_form_enabled || topic.empty() || topic[0] == '$') return std::nullopt;
    out.form = TopicForm::kShort;
    rest = topic;
  }
  // rest: thing/shadow/op  or  thing/shadow/name/shadowName/op
  std::array<std::string_view, 5> lv;
  size_t n = split_levels(rest, lv);
  if (n < 3 || n > 5 || lv[1] != "shadow") return std::nullopt;
  if (n == 3) {
    auto op = parse_operation(lv[2]);
    if (!op) return std::nullopt;
    out.op = *op;
  } else if (n == 5 && lv[2] == "name" && !lv[3].empty()) {
    // (An empty shadow level is not a request: it would address the classic shadow.)
    auto op = parse_operation(lv[4]);
    if (!op) return std::nullopt;
    out.op = *op;
    out.id.shadow = std::string(lv[3]);
  } else {
    return std::nullopt;
  }
  out.id.thing = std::string(lv[0]);
  return out;
}

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::kGet: return "get";
    case Operation::kUpdate: return "update";
    case Operation::kDelete: return "delete";
  }
  return "get";
}

std::string shadow_prefix(const ShadowId& id, TopicForm form) {
  std::string p;
  p.reserve(32 + id.thing.size() + id.shadow.size());
  if (form == TopicForm::kAws) p += kAwsThings;
  p += id.thing;
  p += "/shadow";
  if (id.named()) {
    p += "/name/";
    p += id.shadow;
  }
  return p;
}

std::string reply_topic(const ShadowId& id, TopicForm form, Operation op, std::string_view suffix) {
  std::string t = shadow_prefix(id, form);
  t += '/';
  t += operation_name(op);
  t += '/';
  t += suffix;
  return t;
}

}  // namespace shadow
