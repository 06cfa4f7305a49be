// The MQTT side of the plugin: turns a PUBLISH seen by the broker into a
// Service call and publishes the replies and events the service returns.
//
// Requests are observed, not consumed: the broker still routes the request
// to its subscribers, as AWS IoT does (spec §1). Only the retain flag of a
// shadow request is cleared, so that no request is kept as a retained
// message and replayed to later subscribers.
//
// Runs on the broker thread only (mosquitto_broker_publish is not
// thread-safe; see ../shared/research/mosquitto-plugin.md §6).
#pragma once

#include "shadow_core/service.h"

struct mosquitto_evt_message;  // mosquitto_broker.h

namespace shadow::plugin {

class MqttAdapter {
 public:
  // `service` must outlive the adapter.
  explicit MqttAdapter(Service& service);

  // The MOSQ_EVT_MESSAGE callback; `userdata` is the MqttAdapter. Always
  // returns MOSQ_ERR_SUCCESS: any other code would make the broker drop the
  // request or disconnect the publisher (research §3).
  static int on_message_callback(int event, void* event_data, void* userdata);

 private:
  void on_message(mosquitto_evt_message* ev);
  // Queues one publication; the broker sends it on its next loop pass, in
  // call order and after the request itself (QoS 0/1).
  void publish(const OutMessage& message);

  Service& service_;
  bool short_topics_;
};

}  // namespace shadow::plugin
