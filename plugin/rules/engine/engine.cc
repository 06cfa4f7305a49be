#include "plugin/rules/engine/engine.h"

#include <charconv>
#include <limits>
#include <utility>
#include <variant>

#include "plugin/rules/sql/encoding.h"

namespace shadow::rules {
namespace {

using runtime::LogLevel;

std::string new_trace_id() {
  sql::MessageContext uuid_source;
  return uuid_source.new_uuid();
}

bool valid_topic(std::string_view topic) {
  return !topic.empty() && topic.size() <= 65535 && topic.find_first_of("+#") == std::string_view::npos &&
         topic.find('\0') == std::string_view::npos && json::is_valid_utf8(topic);
}

// The MQTT 5 properties of a republish, rendered; false with *why when a
// rendered value is not one MQTT can carry.
bool render_properties(const MqttHeaders& h, const sql::Payload& payload, sql::EvalContext& context,
                       MqttProperties* out, std::string* why) {
  if (h.payload_format_indicator) {
    std::string v = h.payload_format_indicator->render(payload, context);
    if (v == "UTF8_DATA") {
      out->payload_format_indicator = 1;
    } else if (v == "UNSPECIFIED_BYTES") {
      out->payload_format_indicator = 0;
    } else {
      *why = "payloadFormatIndicator '" + v + "' is neither UNSPECIFIED_BYTES nor UTF8_DATA";
      return false;
    }
  }
  if (h.content_type) out->content_type = h.content_type->render(payload, context);
  if (h.response_topic) {
    std::string v = h.response_topic->render(payload, context);
    if (!valid_topic(v)) {
      *why = "responseTopic '" + v + "' is not a topic one can publish to";
      return false;
    }
    out->response_topic = std::move(v);
  }
  if (h.correlation_data) {
    std::string v = h.correlation_data->render(payload, context);
    std::string bytes;
    if (!sql::base64_decode(v, &bytes)) {
      *why = "correlationData '" + v + "' is not base64";
      return false;
    }
    out->correlation_data = std::move(bytes);
  }
  if (h.message_expiry) {
    std::string v = h.message_expiry->render(payload, context);
    uint64_t seconds = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size() ||
        seconds > std::numeric_limits<uint32_t>::max()) {
      *why = "messageExpiry '" + v + "' is not a number of seconds from 0 to 4294967295";
      return false;
    }
    out->message_expiry_s = static_cast<uint32_t>(seconds);
  }
  for (const MqttHeaders::UserProperty& p : h.user_properties)
    out->user_properties.emplace_back(p.key.render(payload, context), p.value.render(payload, context));
  return true;
}

// What an action acts on, as written (a topic or URL template).
const std::string& action_resource(const Action& action) {
  if (const auto* r = std::get_if<RepublishAction>(&action.kind)) return r->topic.text();
  return std::get<HttpAction>(action.kind).url.text();
}

const char* target_action(const ActionTarget& target) {
  return std::holds_alternative<RepublishTarget>(target) ? "RepublishAction" : "HttpAction";
}

const std::string& target_resource(const ActionTarget& target) {
  if (const auto* r = std::get_if<RepublishTarget>(&target)) return r->topic;
  return std::get<HttpTarget>(target).url;
}

void counter_lines(std::string* out, const char* name, const char* help,
                   const std::vector<RuleRegistry::StatsEntry>& rules,
                   const RuleStats::Counter RuleStats::*counter) {
  if (rules.empty()) return;
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const RuleRegistry::StatsEntry& e : rules) {
    *out += std::string(name) + "{rule=\"" + e.name + "\"} " + std::to_string(RuleStats::read((*e.stats).*counter)) +
            "\n";
  }
}

}  // namespace

RulesEngine::RulesEngine(RuleRegistry& registry, EngineOptions options)
    : registry_(registry), options_(std::move(options)) {
  context_.account = options_.account_id;
  context_.shadow_reader = options_.shadow_reader;
}

void RulesEngine::refresh() {
  uint64_t generation = registry_.generation();
  if (generation == generation_) return;
  rules_ = registry_.snapshot();
  generation_ = generation;
}

bool RulesEngine::wants(std::string_view topic) {
  refresh();
  return rules_->any_match(topic);
}

void RulesEngine::process(const InboundMessage& message, int64_t now_ms) {
  refresh();
  matches_.clear();
  rules_->match(message.topic, &matches_);
  if (matches_.empty()) return;
  if (!guard_.usable(message.trail)) {
    loop_guard_skips_.fetch_add(matches_.size(), std::memory_order_relaxed);
    return;
  }
  sql::Payload payload = parser_.parse(message.payload);
  context_.topic_name.assign(message.topic);
  context_.client.assign(message.client_id);
  context_.principal_name.assign(message.principal);
  context_.now_ms = now_ms;
  // matches_ stays valid: process() is not re-entered, and rules_ keeps the
  // snapshot alive until the next refresh().
  for (const CompiledRule* rule : matches_) {
    if (!guard_.allows(message.trail, rule->name)) {
      loop_guard_skips_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!rule->payload->statement->evaluate(payload, context_, &output_)) {
      if (output_.kind() == sql::Output::Kind::kError) {
        RuleStats::add(rule->stats->sql_errors);
        log(LogLevel::kWarning, "rule '" + rule->name + "' cannot run on a message on '" + std::string(message.topic) +
                                    "': " + output_.error());
      }
      continue;
    }
    RuleStats::add(rule->stats->matched);
    run_actions(*rule, message, payload);
  }
}

std::optional<ActionTarget> RulesEngine::render_target(const Action& action, const sql::Payload& payload,
                                                       std::string* why) {
  if (const auto* r = std::get_if<RepublishAction>(&action.kind)) {
    std::optional<std::string> topic = republish_topic(*r, payload, context_, why);
    if (!topic) return std::nullopt;
    RepublishTarget target{std::move(*topic), r->qos, std::nullopt};
    if (r->headers) {
      MqttProperties properties;
      if (!render_properties(*r->headers, payload, context_, &properties, why)) return std::nullopt;
      target.properties = std::move(properties);
    }
    return ActionTarget{std::move(target)};
  }
  const auto& h = std::get<HttpAction>(action.kind);
  HttpTarget target;
  target.url = h.url.render(payload, context_);
  if (!options_.url_policy.check(target.url, why)) {
    *why += " (url '" + target.url + "')";
    return std::nullopt;
  }
  for (const HttpAction::Header& header : h.headers)
    target.headers.emplace_back(header.key, header.value.render(payload, context_));
  return ActionTarget{std::move(target)};
}

std::shared_ptr<const FailureContext> RulesEngine::failure_context(const CompiledRule& rule,
                                                                   const InboundMessage& message,
                                                                   const sql::Payload& payload) {
  const std::optional<Action>& error_action = rule.payload->error_action;
  if (!error_action) return nullptr;
  std::string why;
  std::optional<ActionTarget> target = render_target(*error_action, payload, &why);
  if (!target) {
    log(LogLevel::kWarning, "rule '" + rule.name + "': its errorAction cannot be used for a message on '" +
                                std::string(message.topic) + "': " + why);
    error_action_failures_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto context = std::make_shared<FailureContext>();
  context->rule_name = rule.name;
  context->topic = std::string(message.topic);
  context->client_id = std::string(message.client_id);
  context->payload = std::string(message.payload);
  context->error_target = std::move(*target);
  context->trail = message.trail;
  return context;
}

void RulesEngine::run_actions(const CompiledRule& rule, const InboundMessage& message, const sql::Payload& payload) {
  const TopicRulePayload& p = *rule.payload;
  if (p.actions.empty()) return;
  std::string body = output_.to_string();
  JobOwner owner{rule.name, rule.stats, failure_context(rule, message, payload), false};
  uint64_t trail = LoopGuard::kNone;
  for (size_t i = 0; i < p.actions.size(); i++) {
    const Action& action = p.actions[i];
    std::string why;
    std::optional<ActionTarget> target = render_target(action, payload, &why);
    if (!target) {
      fail(owner, action.failed_action(), action_resource(action), why, false, true);
      continue;
    }
    // The last action takes the body, the others a copy.
    std::string job_body = i + 1 == p.actions.size() ? std::move(body) : body;
    if (auto* r = std::get_if<RepublishTarget>(&*target)) {
      if (trail == LoopGuard::kNone) trail = guard_.extend(message.trail, rule.name);
      republishes_.push_back(RepublishJob{std::move(*r), std::move(job_body), trail, owner});
      continue;
    }
    HttpJob job{std::move(std::get<HttpTarget>(*target)), std::move(job_body), owner};
    std::string url = job.target.url;
    if (http_ == nullptr) {
      fail(owner, "HttpAction", url, "http actions are not available", false, true);
    } else if (!http_->submit(std::move(job))) {
      fail(owner, "HttpAction", url,
           "the http action queue is full (" + std::to_string(http_->depth()) +
               " requests waiting; plugin_opt_rules_http_queue)",
           true, true);
    }
  }
}

std::optional<RepublishJob> RulesEngine::next_republish() {
  if (republishes_.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (inbox_.empty()) return std::nullopt;
    republishes_.swap(inbox_);
  }
  RepublishJob job = std::move(republishes_.front());
  republishes_.pop_front();
  if (job.owner.error_action && job.owner.failure) {
    // An error document: whatever it causes must not run its rule again.
    job.trail = guard_.extend(job.owner.failure->trail, job.owner.rule_name);
  }
  return job;
}

bool RulesEngine::has_republishes() const {
  if (!republishes_.empty()) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return !inbox_.empty();
}

void RulesEngine::republish_done(const RepublishJob& job, const std::string* failure) {
  if (failure == nullptr) {
    if (!job.owner.error_action) RuleStats::add(job.owner.stats->executed);
    return;
  }
  fail(job.owner, "RepublishAction", job.target.topic, *failure, false, true);
}

void RulesEngine::http_done(const HttpJob& job) {
  if (!job.owner.error_action) RuleStats::add(job.owner.stats->executed);
}

void RulesEngine::http_failed(const HttpJob& job, const std::string& why) {
  fail(job.owner, "HttpAction", job.target.url, why, false, false);
}

void RulesEngine::fail(const JobOwner& owner, const char* failed_action, const std::string& resource,
                       const std::string& why, bool dropped, bool on_broker_thread) {
  if (owner.error_action) {
    error_action_failures_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::kWarning, "rule '" + owner.rule_name + "': its errorAction (" + failed_action + " to '" +
                                resource + "') failed: " + why);
    return;
  }
  RuleStats::add(dropped ? owner.stats->dropped : owner.stats->failed);
  std::string trace_id = new_trace_id();
  log(LogLevel::kWarning, "rule '" + owner.rule_name + "': " + failed_action + " to '" + resource +
                              "' failed: " + why + " (trace id " + trace_id + ")");
  if (!owner.failure) return;
  const FailureContext& f = *owner.failure;
  ErrorActionInput input;
  input.rule_name = f.rule_name;
  input.topic = f.topic;
  input.trace_id = trace_id;
  input.client_id = f.client_id;
  input.payload = f.payload;
  input.failures.push_back(ActionFailure{failed_action, resource, why});
  std::string document = error_action_document(input);
  JobOwner error_owner{owner.rule_name, owner.stats, owner.failure, true};

  if (const auto* r = std::get_if<RepublishTarget>(&f.error_target)) {
    RepublishJob job{*r, std::move(document), LoopGuard::kNone, std::move(error_owner)};
    {
      std::lock_guard<std::mutex> lock(mu_);
      inbox_.push_back(std::move(job));
    }
    if (!on_broker_thread && options_.wake) options_.wake();
    return;
  }
  HttpJob job{std::get<HttpTarget>(f.error_target), std::move(document), std::move(error_owner)};
  if (http_ == nullptr || !http_->submit(std::move(job))) {
    error_action_failures_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::kWarning, "rule '" + owner.rule_name + "': its errorAction (" +
                                std::string(target_action(f.error_target)) + " to '" + target_resource(f.error_target) +
                                "') was dropped: the http action queue is full");
  }
}

void RulesEngine::log(LogLevel level, std::string line) const {
  if (!options_.log) return;
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!log_budget_.allow(std::chrono::steady_clock::now(), &suppressed)) return;
  }
  if (suppressed > 0) {
    options_.log(LogLevel::kWarning, "rules: " + std::to_string(suppressed) + " more lines were not logged");
  }
  options_.log(level, "rules: " + line);
}

RulesEngine::Counters RulesEngine::counters() const {
  return Counters{loop_guard_skips_.load(std::memory_order_relaxed),
                  error_action_failures_.load(std::memory_order_relaxed)};
}

std::string RulesEngine::render_metrics() const {
  std::vector<RuleRegistry::StatsEntry> rules = registry_.stats();
  std::string out;
  counter_lines(&out, "shadow_rule_matched_total", "Messages a rule's WHERE let through (its actions ran).",
                rules, &RuleStats::matched);
  counter_lines(&out, "shadow_rule_actions_executed_total",
                "Actions of a rule that completed (published, or answered 2xx).", rules, &RuleStats::executed);
  counter_lines(&out, "shadow_rule_actions_failed_total",
                "Actions of a rule that failed (http: after its retries); each goes to the errorAction.", rules,
                &RuleStats::failed);
  counter_lines(&out, "shadow_rule_actions_dropped_total",
                "http actions of a rule refused because the http action queue was full.", rules,
                &RuleStats::dropped);
  counter_lines(&out, "shadow_rule_sql_errors_total", "Messages a rule's SQL could not run on.", rules,
                &RuleStats::sql_errors);
  Counters c = counters();
  out += "# HELP shadow_rules_loop_guard_skips_total Rule runs skipped because the message came from that rule.\n";
  out += "# TYPE shadow_rules_loop_guard_skips_total counter\n";
  out += "shadow_rules_loop_guard_skips_total " + std::to_string(c.loop_guard_skips) + "\n";
  out += "# HELP shadow_rules_error_action_failures_total Error documents that could not be delivered.\n";
  out += "# TYPE shadow_rules_error_action_failures_total counter\n";
  out += "shadow_rules_error_action_failures_total " + std::to_string(c.error_action_failures) + "\n";
  out += "# HELP shadow_rules_http_queue_depth http actions waiting or being retried.\n";
  out += "# TYPE shadow_rules_http_queue_depth gauge\n";
  out += "shadow_rules_http_queue_depth " + std::to_string(http_ != nullptr ? http_->depth() : 0) + "\n";
  out += "# HELP shadow_rules_defined Topic rules defined (enabled or not).\n";
  out += "# TYPE shadow_rules_defined gauge\n";
  out += "shadow_rules_defined " + std::to_string(rules.size()) + "\n";
  return out;
}

}  // namespace shadow::rules
