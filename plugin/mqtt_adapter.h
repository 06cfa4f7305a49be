// The MQTT side of the plugin: turns a PUBLISH seen by the broker into a
// Service call and publishes the replies and events the service returns.
// It also publishes what REST requests queued (publish_queue.h), on TICK and
// before each MQTT request, since only this thread may call the broker.
//
// Requests are observed, not consumed: the broker still routes the request
// to its subscribers, as AWS IoT does (spec §1). Only the retain flag of a
// shadow request is cleared, so that no request is kept as a retained
// message and replayed to later subscribers.
//
// Runs on the broker thread only (mosquitto_broker_publish is not
// thread-safe; see ../shared/research/mosquitto-plugin.md §6).
#pragma once

#include <chrono>
#include <cstdint>

#include "plugin/runtime/metrics.h"
#include "plugin/runtime/publish_queue.h"
#include "shadow_core/service.h"

struct mosquitto_evt_message;  // mosquitto_broker.h

namespace shadow::plugin {

class BrokerWaker;
class DurableMode;
class RateLimiter;

class MqttAdapter {
 public:
  // Every reference must outlive the adapter; `waker` may be null (no REST
  // server, or no wake-up).
  MqttAdapter(Service& service, PublishQueue& queue, OrderingLocks& locks, Metrics& metrics,
              BrokerWaker* waker);

  // The MOSQ_EVT_MESSAGE callback; `userdata` is the MqttAdapter. Always
  // returns MOSQ_ERR_SUCCESS: any other code would make the broker drop the
  // request or disconnect the publisher (research §3).
  static int on_message_callback(int event, void* event_data, void* userdata);

  // Requests over the per-thing rate limit are answered with a 429
  // rejection before the service runs; `limiter` may be null (no limit) and
  // must outlive the adapter.
  void set_rate_limiter(RateLimiter* limiter) { limiter_ = limiter; }

  // The MOSQ_EVT_TICK callback: publishes what REST requests queued, and in
  // durable mode what has become durable.
  static int on_tick_callback(int event, void* event_data, void* userdata);

  // Durable mode (plugin_opt_sync_writes true; group_commit.h): replies and
  // events are held back until the fsync covering the writes they reveal,
  // then published in order on TICK or before the next request. Null: off,
  // replies are published at once. `durable` must outlive the adapter.
  void set_durable(DurableMode* durable) { durable_ = durable; }

 private:
  void on_message(mosquitto_evt_message* ev);
  void drain_queue();
  // Durable mode: hands the replies and events of a request to the hold-back
  // queue, or publishes them at once when nothing waits and every write
  // they may reveal is already durable.
  void publish_durable(ServiceResponse& response);
  // Durable mode: publishes, in order, the held-back entries that are now
  // durable; after a failed fsync answers every remaining request with 500.
  void release_durable();
  // Publishes the 429 rejection of a request over the rate limit.
  void reject_throttled(const ServiceRequest& request);
  // Queues one publication; the broker sends it on its next loop pass, in
  // call order and after the request itself (QoS 0/1).
  void publish(const char* topic, const std::string& payload, int qos, bool retain);

  Service& service_;
  PublishQueue& queue_;
  OrderingLocks& locks_;
  Metrics& metrics_;
  BrokerWaker* waker_;
  DurableMode* durable_ = nullptr;
  bool warned_sync_failed_ = false;
  RateLimiter* limiter_ = nullptr;
  bool short_topics_;
  uint64_t ticks_ = 0;
  bool warned_no_tick_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace shadow::plugin
