#include "plugin/rules_hooks.h"

#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h, and
// mosquitto_plugin.h needs mosquitto_plugin_id_t from mosquitto_broker.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>  // MOSQ_ACL_*
#include <mqtt_protocol.h>     // MQTT_PROP_*

#include "plugin/authz/authorization.h"

namespace shadow::plugin {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string principal_of(mosquitto* client) {
  const char* user = mosquitto_client_username(client);
  return user != nullptr ? std::string(strip_sdk_metrics(user)) : std::string();
}

// The MQTT 5 properties of a republish, for mosquitto_broker_publish
// (which owns them once it accepted the message). False if the broker
// could not build them.
bool build_properties(const rules::MqttProperties& p, mosquitto_property** out) {
  int rc = MOSQ_ERR_SUCCESS;
  auto step = [&rc](int result) {
    if (rc == MOSQ_ERR_SUCCESS) rc = result;
  };
  if (p.payload_format_indicator)
    step(mosquitto_property_add_byte(out, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, *p.payload_format_indicator));
  if (p.content_type) step(mosquitto_property_add_string(out, MQTT_PROP_CONTENT_TYPE, p.content_type->c_str()));
  if (p.response_topic) step(mosquitto_property_add_string(out, MQTT_PROP_RESPONSE_TOPIC, p.response_topic->c_str()));
  if (p.correlation_data && p.correlation_data->size() <= 65535) {
    step(mosquitto_property_add_binary(out, MQTT_PROP_CORRELATION_DATA, p.correlation_data->data(),
                                       static_cast<uint16_t>(p.correlation_data->size())));
  }
  if (p.message_expiry_s) step(mosquitto_property_add_int32(out, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, *p.message_expiry_s));
  for (const auto& [key, value] : p.user_properties)
    step(mosquitto_property_add_string_pair(out, MQTT_PROP_USER_PROPERTY, key.c_str(), value.c_str()));
  return rc == MOSQ_ERR_SUCCESS;
}

}  // namespace

RulesHooks::RulesHooks(rules::RulesEngine& engine, runtime::Pipeline& pipeline, MqttAdapter& adapter,
                       runtime::Wakeup* wakeup)
    : engine_(engine), pipeline_(pipeline), adapter_(adapter), wakeup_(wakeup) {}

int RulesHooks::on_message(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_message*>(event_data);
  disconnected_ = nullptr;
  if (ev->topic != nullptr && engine_.wants(ev->topic)) {
    std::string_view payload;
    if (ev->payload != nullptr) payload = {static_cast<const char*>(ev->payload), ev->payloadlen};
    const char* client_id = mosquitto_client_id(ev->client);
    std::string principal = principal_of(ev->client);
    rules::InboundMessage message;
    message.topic = ev->topic;
    message.payload = payload;
    if (client_id != nullptr) message.client_id = client_id;
    message.principal = principal;
    engine_.process(message, now_ms());
  }
  run_pending();
  return MOSQ_ERR_SUCCESS;
}

int RulesHooks::on_tick(int /*event*/, void* /*event_data*/) {
  disconnected_ = nullptr;
  run_pending();
  return MOSQ_ERR_SUCCESS;
}

int RulesHooks::on_disconnect(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_disconnect*>(event_data);
  const char* id = ev->client != nullptr ? mosquitto_client_id(ev->client) : nullptr;
  disconnected_ = id != nullptr ? ev->client : nullptr;
  disconnected_id_ = id != nullptr ? id : "";
  return MOSQ_ERR_SUCCESS;
}

void RulesHooks::published(const OutMessage& message) {
  if (!engine_.wants(message.topic)) return;
  pending_.push_back(Pending{message.topic, message.payload, message.origin, "n/a", ""});
}

void RulesHooks::observe(const mosquitto_evt_acl_check& event, int answer) {
  if (event.access != MOSQ_ACL_WRITE) return;
  if (!will_checked(event, answer) || event.topic == nullptr || !engine_.wants(event.topic)) return;
  Pending will;
  will.topic = event.topic;
  if (event.payload != nullptr) will.payload.assign(static_cast<const char*>(event.payload), event.payloadlen);
  if (const char* id = mosquitto_client_id(event.client)) will.client_id = id;
  will.principal = principal_of(event.client);
  // Run at the end of this loop pass (TICK), after the broker queued the Will.
  pending_.push_back(std::move(will));
}

// Mosquitto 2.0.11 does not show Last Will messages to MOSQ_EVT_MESSAGE.
// When a connection ends, it fires DISCONNECT and, at once, checks the
// client's Will (if it has one and did not disconnect cleanly) with a
// MOSQ_ACL_WRITE check for the Will's topic and payload, then sends it if
// the check allows it. Nothing else happens between the two: the first
// write check after a DISCONNECT, for the same client, is its Will.
// Only a Will the plugin's own ACL check allowed (MOSQ_ERR_SUCCESS) counts:
// when it defers, an acl_file decides afterwards, out of the plugin's
// sight, and a refused Will must not reach a rule. Wills with an MQTT 5
// Will Delay are sent later without a DISCONNECT before them and are not
// seen (docs/rules.md#inputs).
bool RulesHooks::will_checked(const mosquitto_evt_acl_check& event, int answer) {
  const mosquitto* ended = disconnected_;
  disconnected_ = nullptr;
  if (ended == nullptr || event.client != ended || event.access != MOSQ_ACL_WRITE) return false;
  const char* id = mosquitto_client_id(event.client);
  return id != nullptr && disconnected_id_ == id && answer == MOSQ_ERR_SUCCESS;
}

void RulesHooks::run_pending() {
  if (running_) return;  // a republish inside run_pending(): its messages are picked up by the loop
  running_ = true;
  size_t budget = kBudget;
  while (budget > 0) {
    if (!pending_.empty()) {
      Pending m = std::move(pending_.front());
      pending_.pop_front();
      rules::InboundMessage message;
      message.topic = m.topic;
      message.payload = m.payload;
      message.client_id = m.client_id;
      message.principal = m.principal;
      message.trail = m.trail;
      engine_.process(message, now_ms());
    } else if (std::optional<rules::RepublishJob> job = engine_.next_republish()) {
      execute(std::move(*job));
    } else {
      break;
    }
    budget--;
  }
  running_ = false;
  if (budget == 0 && wakeup_ != nullptr && (!pending_.empty() || engine_.has_republishes())) wakeup_->request();
}

void RulesHooks::execute(rules::RepublishJob job) {
  const rules::RepublishTarget& target = job.target;
  const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  mosquitto_property* properties = nullptr;
  if (target.properties && !build_properties(*target.properties, &properties)) {
    mosquitto_property_free_all(&properties);
    std::string why = "the MQTT 5 properties could not be built";
    engine_.republish_done(job, &why);
    return;
  }
  // The message itself reaches the topic's subscribers, as on AWS, also
  // when the topic is a shadow request (the answer follows it).
  int rc = mosquitto_broker_publish_copy(nullptr, target.topic.c_str(), static_cast<int>(job.payload.size()),
                                         job.payload.data(), target.qos, false, properties);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&properties);
    std::string why = "the broker refused the message (error " + std::to_string(rc) + ")";
    engine_.republish_done(job, &why);
    return;
  }
  if (engine_.wants(target.topic)) pending_.push_back(Pending{target.topic, job.payload, job.trail, "n/a", ""});
  if (pipeline_.service().mqtt_request(target.topic, job.payload, now_s)) {
    // What HTTP threads queued goes first: it does not come from this rule.
    pipeline_.flush(adapter_);
    // The shadow history records the rule as the writer (docs/fleet.md).
    const std::string identity = "rule:" + job.owner.rule_name;
    pipeline_.mqtt_publish(target.topic, job.payload, now_s, adapter_, identity, job.trail);
  }
  engine_.republish_done(job, nullptr);
}

}  // namespace shadow::plugin
