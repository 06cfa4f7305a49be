// Shadow topic names (docs/mqtt-api.md#topics): parsing request topics and building the
// response and event topics, in the AWS form ($aws/things/T/shadow/...) and
// the short form (T/shadow/...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shadow {

enum class Operation { kGet, kUpdate, kDelete };
enum class TopicForm { kAws, kShort };

struct ShadowId {
  std::string thing;
  std::string shadow;  // empty: classic shadow
  bool named() const { return !shadow.empty(); }
};

struct RequestTopic {
  ShadowId id;
  Operation op = Operation::kGet;
  TopicForm form = TopicForm::kAws;
};

// Parses a request topic (P/get, P/update, P/delete). Returns nullopt for any
// topic that is not a shadow request, including response and event topics.
// Names are not validated here (see names.h); an empty level yields an empty
// name so the caller can answer on the computed /rejected topic.
std::optional<RequestTopic> parse_request_topic(std::string_view topic, bool short_form_enabled);

// A cheap pre-check for every PUBLISH a broker sees, before
// parse_request_topic builds strings: false only when `topic` cannot be a
// request topic. Most traffic on a broker is not for shadows, and this
// allocates nothing. A necessary condition, never a sufficient one: every
// request topic has a "shadow" level after a thing level and ends in /get,
// /update or /delete; without the short form it also starts with
// "$aws/things/".
inline bool may_be_request_topic(std::string_view topic, bool short_form_enabled) {
  if (!short_form_enabled && !topic.starts_with("$aws/things/")) return false;
  if (!topic.ends_with("/get") && !topic.ends_with("/update") && !topic.ends_with("/delete")) {
    return false;
  }
  return topic.find("/shadow/") != std::string_view::npos;
}

const char* operation_name(Operation op);  // "get", "update", "delete"

// "$aws/things/T/shadow[/name/S]" or "T/shadow[/name/S]".
std::string shadow_prefix(const ShadowId& id, TopicForm form);

// prefix + "/" + op + "/" + suffix, e.g. ".../update/accepted".
std::string reply_topic(const ShadowId& id, TopicForm form, Operation op, std::string_view suffix);

}  // namespace shadow
