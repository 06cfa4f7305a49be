#include "plugin/mqtt_adapter.h"

#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>

#include "plugin/topic_filter.h"

namespace shadow::plugin {

MqttAdapter::MqttAdapter(Service& service)
    : service_(service), short_topics_(service.config().short_topics) {}

int MqttAdapter::on_message_callback(int /*event*/, void* event_data, void* userdata) {
  auto* self = static_cast<MqttAdapter*>(userdata);
  auto* ev = static_cast<mosquitto_evt_message*>(event_data);
  // Nothing may unwind into the broker's C code. The service does not throw,
  // but allocation can.
  try {
    self->on_message(ev);
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: request on '%s' failed: %s", ev->topic, e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: request on '%s' failed", ev->topic);
  }
  return MOSQ_ERR_SUCCESS;
}

void MqttAdapter::on_message(mosquitto_evt_message* ev) {
  if (ev->topic == nullptr) return;
  std::string_view topic(ev->topic);
  if (!may_be_shadow_request(topic, short_topics_)) return;

  std::string_view payload;
  if (ev->payload != nullptr) {
    payload = std::string_view(static_cast<const char*>(ev->payload), ev->payloadlen);
  }
  auto response = service_.handle_mqtt(topic, payload, static_cast<int64_t>(std::time(nullptr)));
  if (!response) return;

  ev->retain = false;
  if (response->status >= 500) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, "shadow: request on '%s' answered with %d",
                         ev->topic, response->status);
  }
  for (const OutMessage& m : response->messages) publish(m);
}

void MqttAdapter::publish(const OutMessage& message) {
  // On success the broker owns (and frees) the payload, so it must come from
  // the broker's allocator; on failure it is still ours.
  void* buf = nullptr;
  if (!message.payload.empty()) {
    buf = mosquitto_malloc(message.payload.size());
    if (buf == nullptr) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: out of memory publishing to '%s'",
                           message.topic.c_str());
      return;
    }
    std::memcpy(buf, message.payload.data(), message.payload.size());
  }
  int rc = mosquitto_broker_publish(nullptr, message.topic.c_str(),
                                    static_cast<int>(message.payload.size()), buf, message.qos,
                                    /*retain=*/false, /*properties=*/nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_free(buf);
    // Only the number: upstream brokers do not export mosquitto_strerror.
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: could not publish to '%s' (error %d)",
                         message.topic.c_str(), rc);
  }
}

}  // namespace shadow::plugin
