// The MQTT side of the plugin: hands every PUBLISH the broker receives to the
// request pipeline (plugin/runtime/pipeline.h), and gives the pipeline the
// broker's publish and log functions.
//
// Requests are observed, not consumed: the broker still routes a request to
// its subscribers, as AWS IoT does. Only the retain flag of a shadow request
// is cleared, so that no request is kept as a retained message and replayed
// to later subscribers.
//
// Broker thread only: mosquitto_broker_publish and mosquitto_log_printf are
// not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "plugin/runtime/pipeline.h"

namespace shadow::plugin {

// Told of every message the plugin has the broker publish through the
// adapter (replies, events, REST-caused messages; not the catch-up deltas
// sent to one client): the rules engine's input
// for the service's own messages. Called inside the pipeline, possibly under
// a shadow lock: it must only take note, never call back into the pipeline.
class PublishObserver {
 public:
  virtual ~PublishObserver() = default;
  virtual void published(const OutMessage& message) = 0;
};

class MqttAdapter final : public runtime::BrokerOutput {
 public:
  // `pipeline` must outlive the adapter. `ticks_expected`: the plugin
  // registered a TICK callback (REST or durable mode), so a broker that never
  // sends TICK is worth a warning.
  MqttAdapter(runtime::Pipeline& pipeline, bool ticks_expected);

  // MOSQ_EVT_MESSAGE. Always MOSQ_ERR_SUCCESS: any other code would make the
  // broker drop the request or disconnect the publisher. Register fail-open.
  int on_message(int event, void* event_data);
  // MOSQ_EVT_TICK: publishes what other threads handed over. Fail-open.
  int on_tick(int event, void* event_data);

  // runtime::BrokerOutput: queues one publication; the broker sends it on
  // its next loop pass, in call order and after the request itself.
  bool publish(const OutMessage& message) override;
  void log(runtime::LogLevel level, const std::string& line) override;

  // nullptr: none. Set before the broker sends events.
  void set_observer(PublishObserver* observer) { observer_ = observer; }

 private:
  runtime::Pipeline& pipeline_;
  PublishObserver* observer_ = nullptr;
  const bool ticks_expected_;
  uint64_t ticks_ = 0;
  bool warned_no_tick_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace shadow::plugin
