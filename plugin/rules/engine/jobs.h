// What a rule's actions become once a message has run through the rule:
// jobs with every template rendered, for whoever executes them. Republish
// jobs are executed on the broker thread (the Mosquitto glue), http jobs on
// the HTTP action workers (plugin/rules/http). Both report back to the
// RulesEngine, which counts them and sends failures to the rule's
// errorAction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "plugin/rules/engine/rule_stats.h"

namespace shadow::rules {

// The MQTT 5 properties of a republished message, rendered.
struct MqttProperties {
  std::optional<uint8_t> payload_format_indicator;  // 0 UNSPECIFIED_BYTES, 1 UTF8_DATA
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;  // binary, decoded from base64
  std::optional<uint32_t> message_expiry_s;
  std::vector<std::pair<std::string, std::string>> user_properties;
};

struct RepublishTarget {
  std::string topic;  // "$$" already turned into "$"
  int qos = 0;
  std::optional<MqttProperties> properties;
};

struct HttpTarget {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};

using ActionTarget = std::variant<RepublishTarget, HttpTarget>;

// What the errorAction of a rule needs when one of the rule's actions
// fails: the message that triggered the rule, and the errorAction's target,
// rendered against that message when the rule ran. Shared by the jobs of
// one rule run; only made for rules with an errorAction.
struct FailureContext {
  std::string rule_name;
  std::string topic;
  std::string client_id;
  std::string payload;  // the original message
  ActionTarget error_target;
  uint64_t trail = 0;   // loop guard of a republished error document (engine.h)
};

// Who a job belongs to, for counters, log lines and the errorAction.
struct JobOwner {
  std::string rule_name;
  std::shared_ptr<RuleStats> stats;
  std::shared_ptr<const FailureContext> failure;  // null: no errorAction
  bool error_action = false;  // the job delivers an error document: no errorAction for it
};

struct RepublishJob {
  RepublishTarget target;
  std::string payload;
  uint64_t trail = 0;  // the loop-guard trail of the message this publishes (engine.h)
  JobOwner owner;
};

struct HttpJob {
  HttpTarget target;
  std::string body;
  JobOwner owner;
};

// Takes http jobs (plugin/rules/http implements it). Thread-safe.
class HttpSink {
 public:
  virtual ~HttpSink() = default;
  // False when the queue is full: the job is not taken.
  virtual bool submit(HttpJob job) = 0;
  // Jobs waiting or being retried.
  virtual size_t depth() const = 0;
};

// Where the http workers report each job's outcome (the RulesEngine).
// Thread-safe.
class HttpCompletion {
 public:
  virtual ~HttpCompletion() = default;
  virtual void http_done(const HttpJob& job) = 0;
  virtual void http_failed(const HttpJob& job, const std::string& why) = 0;
};

}  // namespace shadow::rules
