#include "plugin/mqtt_adapter.h"

#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <string_view>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>

#include "plugin/broker_wake.h"
#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/rate_limiter.h"
#include "shadow_core/request.h"
#include "shadow_core/responses.h"

namespace shadow::plugin {
namespace {

MetricOp metric_op(Operation op) {
  switch (op) {
    case Operation::kGet: return MetricOp::kGet;
    case Operation::kUpdate: return MetricOp::kUpdate;
    case Operation::kDelete: return MetricOp::kDelete;
  }
  return MetricOp::kGet;
}

int mosquitto_level(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return MOSQ_LOG_INFO;
    case LogLevel::kWarning: return MOSQ_LOG_WARNING;
    case LogLevel::kError: return MOSQ_LOG_ERR;
  }
  return MOSQ_LOG_INFO;
}

}  // namespace

MqttAdapter::MqttAdapter(Service& service, PublishQueue& queue, OrderingLocks& locks,
                         Metrics& metrics, BrokerWaker* waker)
    : service_(service),
      queue_(queue),
      locks_(locks),
      metrics_(metrics),
      waker_(waker),
      short_topics_(service.config().short_topics) {}

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

int MqttAdapter::on_tick_callback(int /*event*/, void* /*event_data*/, void* userdata) {
  auto* self = static_cast<MqttAdapter*>(userdata);
  try {
    self->ticks_++;
    self->drain_queue();
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: publishing queued REST messages failed");
  }
  return MOSQ_ERR_SUCCESS;
}

void MqttAdapter::on_message(mosquitto_evt_message* ev) {
  if (ev->topic == nullptr) return;
  std::string_view topic(ev->topic);
  if (!may_be_request_topic(topic, short_topics_)) return;
  std::string_view payload;
  if (ev->payload != nullptr) {
    payload = std::string_view(static_cast<const char*>(ev->payload), ev->payloadlen);
  }
  auto parsed = service_.mqtt_request(topic, payload, static_cast<int64_t>(std::time(nullptr)));
  if (!parsed) return;
  ServiceRequest& request = *parsed;

  if (ticks_ == 0 && !warned_no_tick_ &&
      std::chrono::steady_clock::now() - started_ > std::chrono::seconds(10)) {
    warned_no_tick_ = true;
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: the broker sends no TICK events (per_listener_settings true?): "
                         "MQTT messages caused by REST requests are only published when MQTT "
                         "requests arrive");
  }

  auto started = std::chrono::steady_clock::now();
  if (limiter_ != nullptr && !limiter_->allow(request.id.thing, started)) {
    ev->retain = false;
    reject_throttled(request);
    metrics_.count_request(MetricChannel::kMqtt, metric_op(request.op), 429,
                           std::chrono::steady_clock::now() - started);
    return;
  }
  // Under the shadow's lock, events REST requests already queued go out
  // before this request's (publish_queue.h).
  std::lock_guard<std::mutex> guard(locks_.for_shadow(request.id));
  drain_queue();
  ServiceResponse response = service_.handle(request);
  metrics_.count_request(MetricChannel::kMqtt, metric_op(request.op), response.status,
                         std::chrono::steady_clock::now() - started);

  ev->retain = false;
  if (response.status >= 500) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, "shadow: request on '%s' answered with %d",
                         ev->topic, response.status);
  }
  if (durable_ != nullptr) {
    publish_durable(response);
    return;
  }
  for (const OutMessage& m : response.messages) publish(m.topic.c_str(), m.payload, m.qos, false);
}

void MqttAdapter::publish_durable(ServiceResponse& response) {
  if (response.messages.empty()) return;
  DurableMode& d = *durable_;
  // Still under the shadow's lock: the tag covers this request's write and
  // every write its answer may have read (durable_queue.h).
  uint64_t seq = d.current_seq();
  if (d.queue().empty() && seq <= d.committer().durable() && !d.committer().failed()) {
    // A read of durable state with nothing queued before it: no reason to wait.
    if (d.trace() != nullptr) d.trace()->ack(seq, response.messages.front().topic);
    for (const OutMessage& m : response.messages) publish(m.topic.c_str(), m.payload, m.qos, false);
    return;
  }
  std::vector<QueuedMessage> held;
  held.reserve(response.messages.size());
  for (OutMessage& m : response.messages)
    held.push_back(QueuedMessage{std::move(m.topic), std::move(m.payload), m.qos, false});
  d.hold(std::move(held), /*has_reply=*/true);
  if (d.committer().failed()) release_durable();  // answer the 500 now
}

void MqttAdapter::release_durable() {
  DurableMode& d = *durable_;
  if (d.queue().empty()) return;
  bool failed = d.committer().failed();  // read before durable(): see below
  SyncTrace* trace = d.trace();
  d.queue().release(d.committer().durable(), [&](const DurableEntry& e) {
    if (e.messages.empty()) return;
    if (trace != nullptr) trace->ack(e.seq, e.messages.front().topic);
    for (const QueuedMessage& m : e.messages) publish(m.topic.c_str(), m.payload, m.qos, m.retain);
  });
  // Entries fsynced before a failure went out above; the rest never will
  // be durable (group_commit.h): their requests get a 500, their events and
  // the REST-caused messages are dropped.
  if (!failed) return;
  if (!warned_sync_failed_) {
    warned_sync_failed_ = true;
    mosquitto_log_printf(MOSQ_LOG_ERR,
                         "shadow: durable mode: fsync of the write-ahead log failed (%s); every "
                         "shadow request is now answered 500 until the broker is restarted",
                         d.committer().failure().c_str());
  }
  std::optional<int64_t> timestamp;
  if (service_.config().error_timestamp) timestamp = static_cast<int64_t>(std::time(nullptr));
  size_t dropped = 0;
  d.queue().take_all([&](const DurableEntry& e) {
    if (!e.has_reply || e.messages.empty()) {
      dropped += e.messages.size();
      return;
    }
    if (trace != nullptr) trace->fail(e.seq, e.messages.front().topic);
    dropped += e.messages.size();
    if (auto reply = internal_failure_reply(e.messages.front(), timestamp))
      publish(reply->topic.c_str(), reply->payload, reply->qos, false);
  });
  for (size_t i = 0; i < dropped; i++) metrics_.count_publish_failure();
}

void MqttAdapter::reject_throttled(const ServiceRequest& request) {
  const Config& config = service_.config();
  responses::Token token;
  // Echo the clientToken as every rejection does, but never parse a payload
  // over the cap: the limit exists to bound the work a flood can cause.
  if (request.payload.size() <= config.max_payload_bytes) {
    token = extract_client_token(request.payload, config);
  }
  std::optional<int64_t> timestamp;
  if (config.error_timestamp) timestamp = request.now;
  std::string body = responses::error(Error{429, config.throttled_message}, timestamp, token);
  std::string topic = reply_topic(request.id, request.form, request.op, "rejected");
  if (durable_ != nullptr) {
    // Reveals nothing, but must not overtake the held-back replies to this
    // client's earlier requests.
    durable_->hold({QueuedMessage{std::move(topic), std::move(body), 1, false}}, true);
    return;
  }
  publish(topic.c_str(), body, 1, false);
}

void MqttAdapter::drain_queue() {
  if (waker_ != nullptr) waker_->acknowledge();
  if (durable_ != nullptr) release_durable();
  if (queue_.empty()) return;
  PublishQueue::Batch batch = queue_.take_all();
  for (const QueuedLog& log : batch.logs)
    mosquitto_log_printf(mosquitto_level(log.level), "shadow: %s", log.text.c_str());
  for (const QueuedMessage& m : batch.messages)
    publish(m.topic.c_str(), m.payload, m.qos, m.retain);
  metrics_.count_queued_published(batch.messages.size());
}

void MqttAdapter::publish(const char* topic, const std::string& payload, int qos, bool retain) {
  // On success the broker owns (and frees) the payload, so it must come from
  // the broker's allocator; on failure it is still ours.
  void* buf = nullptr;
  if (!payload.empty()) {
    buf = mosquitto_malloc(payload.size());
    if (buf == nullptr) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: out of memory publishing to '%s'", topic);
      metrics_.count_publish_failure();
      return;
    }
    std::memcpy(buf, payload.data(), payload.size());
  }
  int rc = mosquitto_broker_publish(nullptr, topic, static_cast<int>(payload.size()), buf, qos,
                                    retain, /*properties=*/nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_free(buf);
    metrics_.count_publish_failure();
    // Only the number: upstream brokers do not export mosquitto_strerror.
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: could not publish to '%s' (error %d)", topic, rc);
  }
}

}  // namespace shadow::plugin
