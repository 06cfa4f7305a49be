#include "plugin/mqtt_adapter.h"

#include <cstring>
#include <ctime>
#include <string_view>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>

namespace shadow::plugin {
namespace {

int mosquitto_level(runtime::LogLevel level) {
  switch (level) {
    case runtime::LogLevel::kInfo: return MOSQ_LOG_INFO;
    case runtime::LogLevel::kNotice: return MOSQ_LOG_NOTICE;
    case runtime::LogLevel::kWarning: return MOSQ_LOG_WARNING;
    case runtime::LogLevel::kError: return MOSQ_LOG_ERR;
  }
  return MOSQ_LOG_INFO;
}

}  // namespace

MqttAdapter::MqttAdapter(runtime::Pipeline& pipeline, bool ticks_expected)
    : pipeline_(pipeline), ticks_expected_(ticks_expected) {}

int MqttAdapter::on_message(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_message*>(event_data);
  if (ev->topic == nullptr) return MOSQ_ERR_SUCCESS;
  if (ticks_expected_ && ticks_ == 0 && !warned_no_tick_ &&
      std::chrono::steady_clock::now() - started_ > std::chrono::seconds(10)) {
    warned_no_tick_ = true;
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: the broker sends no TICK events (per_listener_settings true?): "
                         "MQTT messages caused by REST requests are only published when MQTT "
                         "requests arrive");
  }
  std::string_view payload;
  if (ev->payload != nullptr) payload = {static_cast<const char*>(ev->payload), ev->payloadlen};
  const char* client_id = ev->client != nullptr ? mosquitto_client_id(ev->client) : nullptr;
  if (pipeline_.mqtt_publish(ev->topic, payload, static_cast<int64_t>(std::time(nullptr)), *this,
                             client_id != nullptr ? std::string_view(client_id) : std::string_view())) {
    ev->retain = false;
  }
  return MOSQ_ERR_SUCCESS;
}

int MqttAdapter::on_tick(int /*event*/, void* /*event_data*/) {
  ticks_++;
  pipeline_.flush(*this);
  return MOSQ_ERR_SUCCESS;
}

bool MqttAdapter::publish(const OutMessage& m) {
  // On success the broker owns (and frees) the payload, so it must come from
  // the broker's allocator; on failure it is still ours.
  void* buf = nullptr;
  if (!m.payload.empty()) {
    buf = mosquitto_malloc(m.payload.size());
    if (buf == nullptr) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: out of memory publishing to '%s'", m.topic.c_str());
      return false;
    }
    std::memcpy(buf, m.payload.data(), m.payload.size());
  }
  // A client id sends to that one client, whatever its subscriptions (and
  // without the ACL check a routed message gets: the caller authorized it).
  const char* to = m.client_id.empty() ? nullptr : m.client_id.c_str();
  int rc = mosquitto_broker_publish(to, m.topic.c_str(), static_cast<int>(m.payload.size()), buf,
                                    m.qos, m.retain, /*properties=*/nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_free(buf);
    // Only the number: upstream brokers do not export mosquitto_strerror.
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: could not publish to '%s' (error %d)", m.topic.c_str(), rc);
    return false;
  }
  // A message for one client (a catch-up delta) repeats the shadow's state
  // to that client; it was not published on its topic, so rules never see it.
  if (observer_ != nullptr && m.client_id.empty()) observer_->published(m);
  return true;
}

void MqttAdapter::log(runtime::LogLevel level, const std::string& line) {
  mosquitto_log_printf(mosquitto_level(level), "shadow: %s", line.c_str());
}

}  // namespace shadow::plugin
