#include "plugin/runtime/pipeline.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "shadow_core/errors.h"

namespace shadow::runtime {
namespace {

using Clock = std::chrono::steady_clock;

Rejection queue_full() {
  return Rejection{503, "Too many MQTT messages waiting to be published; retry later"};
}

// Cluster mode: the worker of the request's shadow has too much waiting.
Rejection workers_busy() {
  return Rejection{503, "Too many requests waiting for the shadow store; retry later"};
}

}  // namespace

Pipeline::Pipeline(Service& service, Metrics& metrics, PipelineOptions options)
    : service_(service), metrics_(metrics), options_(std::move(options)) {
  if (!options_.cluster) return;
  order_ = std::make_unique<ShadowOrder>(queue_, options_.wakeup);
  int n = std::max(1, options_.cluster->workers);
  for (int i = 0; i < n; i++) lanes_.push_back(std::make_unique<Lane>());
  for (int i = 0; i < n; i++) workers_.emplace_back([this, i] { run_lane(*lanes_[static_cast<size_t>(i)]); });
}

Pipeline::~Pipeline() {
  stopping_ = true;
  for (auto& lane : lanes_) {
    std::lock_guard<std::mutex> g(lane->mu);
    lane->cv.notify_all();
  }
  for (std::thread& t : workers_) t.join();
}

// --- broker thread -------------------------------------------------------------

bool Pipeline::mqtt_publish(std::string_view topic, std::string_view payload, int64_t now,
                            BrokerOutput& out, std::string_view identity, uint64_t origin) {
  std::optional<ServiceRequest> request = service_.mqtt_request(topic, payload, now);
  if (!request) return false;
  request->identity = identity;
  const auto started = Clock::now();

  if (throttled(request->id.thing)) {
    ReplyAddress to = service_.reply_address(*request);
    ServiceResponse response =
        service_.reject(to, Rejection{429, service_.config().throttled_message}, now);
    for (OutMessage& m : response.messages) m.origin = origin;
    deliver(response, *request, out);
    metrics_.count_request(MetricChannel::kMqtt, metric_op(request->op), 429, Clock::now() - started);
    return true;
  }

  if (order_) {
    flush(out);
    if (!enqueue(request->id, topic, payload, now, started)) {
      ServiceResponse response = service_.reject(service_.reply_address(*request), workers_busy(), now);
      deliver(response, *request, out);
      metrics_.count_request(MetricChannel::kMqtt, metric_op(request->op), response.status, Clock::now() - started);
    }
    return true;
  }

  Service::ShadowLock held = service_.lock(request->id);
  // What HTTP threads queued (for this shadow among others) was applied
  // before this request: it goes out first.
  flush(out);
  ServiceResponse response = service_.handle(*request, held);
  for (OutMessage& m : response.messages) m.origin = origin;
  metrics_.count_request(MetricChannel::kMqtt, metric_op(request->op), response.status,
                         Clock::now() - started);
  if (response.status >= 500) {
    out.log(LogLevel::kWarning, "request on '" + std::string(topic) + "' answered with " +
                                    std::to_string(response.status));
  }
  deliver(response, *request, out);
  return true;
}

ServiceResponse Pipeline::service_request(const ServiceRequest& request, BrokerOutput& out) {
  const auto started = Clock::now();
  Service::ShadowLock held = service_.lock(request.id);
  flush(out);
  ServiceResponse response = service_.handle(request, held);
  metrics_.count_request(MetricChannel::kService, metric_op(request.op), response.status, Clock::now() - started);
  if (response.status >= 500) {
    out.log(LogLevel::kWarning, "service request on '" + request.id.thing + "'/'" + request.id.shadow +
                                    "' answered with " + std::to_string(response.status));
  }
  // A rejected service request publishes nothing (like a REST one).
  if (!response.ok()) response.messages.clear();
  deliver(response, request, out);
  return response;
}

bool Pipeline::send_current_delta(const ShadowId& id, const std::string& topic, const std::string& client_id,
                                  int64_t now, BrokerOutput& out) {
  Service::ShadowLock held = service_.lock(id);
  flush(out);
  std::optional<std::string> delta = service_.delta_document(id, now, held);
  if (!delta) return false;
  OutMessage m;
  m.topic = topic;
  m.payload = std::move(*delta);
  m.client_id = client_id;
  std::vector<OutMessage> messages;
  messages.push_back(std::move(m));
  emit(std::move(messages), out);
  return true;
}

void Pipeline::emit(std::vector<OutMessage> messages, BrokerOutput& out) {
  if (messages.empty()) return;
  DurableMode* d = options_.durable;
  // Still under the shadow's lock: the current sequence covers the write
  // these messages reveal.
  if (d != nullptr && !(d->queue().empty() && d->current_seq() <= d->committer().durable() &&
                        !d->committer().failed())) {
    d->hold(std::move(messages), std::nullopt);
    return;
  }
  for (const OutMessage& m : messages) publish(m, out);
}

void Pipeline::flush(BrokerOutput& out) {
  if (options_.wakeup != nullptr) options_.wakeup->acknowledge();
  if (order_) order_->expire(Clock::now());
  if (options_.durable != nullptr) release_durable(out);
  if (queue_.empty()) return;
  PublishQueue::Batch batch = queue_.take_all();
  for (const QueuedLog& line : batch.logs) out.log(line.level, line.text);
  for (const OutMessage& m : batch.messages) publish(m, out);
  metrics_.count_queued_published(batch.messages.size());
}

void Pipeline::deliver(ServiceResponse& response, const ServiceRequest& request, BrokerOutput& out) {
  DurableMode* d = options_.durable;
  if (d == nullptr) {
    for (const OutMessage& m : response.messages) publish(m, out);
    return;
  }
  if (response.messages.empty()) return;
  // Still under the shadow's lock: the tag covers this request's write and
  // every write its answer may have read (durable_queue.h).
  uint64_t seq = d->current_seq();
  if (d->queue().empty() && seq <= d->committer().durable() && !d->committer().failed()) {
    // A read of durable state with nothing queued before it: no reason to wait.
    if (d->trace() != nullptr) d->trace()->ack(seq, response.messages.front().topic);
    for (const OutMessage& m : response.messages) publish(m, out);
    return;
  }
  d->hold(std::move(response.messages),
          ReplyAddress{request.channel, request.id, request.form, request.op, response.client_token});
  if (d->committer().failed()) release_durable(out);  // answer the 500 now
}

void Pipeline::release_durable(BrokerOutput& out) {
  DurableMode& d = *options_.durable;
  if (d.queue().empty()) return;
  bool failed = d.committer().failed();  // read before durable(): see group_commit.h
  SyncTrace* trace = d.trace();
  d.queue().release(d.committer().durable(), [&](const DurableEntry& e) {
    if (e.messages.empty()) return;
    if (trace != nullptr) trace->ack(e.seq, e.messages.front().topic);
    for (const OutMessage& m : e.messages) publish(m, out);
  });
  // Entries fsynced before a failure went out above; the rest never will be
  // durable (group_commit.h): their MQTT requests get a 500, their events and
  // the REST-caused messages are dropped.
  if (!failed) return;
  if (!warned_sync_failed_) {
    warned_sync_failed_ = true;
    out.log(LogLevel::kError,
            "durable mode: fsync of the write-ahead log failed (" + d.committer().failure() +
                "); every shadow request is now answered 500 until the broker is restarted");
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  size_t dropped = 0;
  d.queue().take_all([&](const DurableEntry& e) {
    dropped += e.messages.size();
    if (!e.reply_to) return;
    if (trace != nullptr && !e.messages.empty()) trace->fail(e.seq, e.messages.front().topic);
    ServiceResponse failure = service_.reject(*e.reply_to, Rejection{500, messages::kInternal}, now);
    for (const OutMessage& m : failure.messages) publish(m, out);
  });
  for (size_t i = 0; i < dropped; i++) metrics_.count_publish_failure();
}

void Pipeline::publish(const OutMessage& message, BrokerOutput& out) {
  if (!out.publish(message)) metrics_.count_publish_failure();
}

// --- cluster mode ------------------------------------------------------------------

bool Pipeline::enqueue(const ShadowId& id, std::string_view topic, std::string_view payload, int64_t now,
                       Clock::time_point received) {
  size_t h = std::hash<std::string>{}(id.thing) * 31 + std::hash<std::string>{}(id.shadow);
  Lane& lane = *lanes_[h % lanes_.size()];
  {
    std::lock_guard<std::mutex> g(lane.mu);
    if (lane.jobs.size() >= options_.cluster->worker_queue_limit) return false;
    lane.jobs.push_back(Job{std::string(topic), std::string(payload), now, received});
  }
  waiting_jobs_.fetch_add(1, std::memory_order_relaxed);
  lane.cv.notify_one();
  return true;
}

void Pipeline::run_lane(Lane& lane) {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(lane.mu);
      lane.cv.wait(lock, [&] { return stopping_.load() || !lane.jobs.empty(); });
      if (stopping_) return;
      job = std::move(lane.jobs.front());
      lane.jobs.pop_front();
    }
    waiting_jobs_.fetch_sub(1, std::memory_order_relaxed);
    run_job(job);
  }
}

void Pipeline::run_job(const Job& job) {
  // Parsed on the broker thread already; parsed again here from the copy.
  std::optional<ServiceRequest> request = service_.mqtt_request(job.topic, job.payload, job.now);
  if (!request) return;
  ServiceResponse response = apply_ordered(*request);
  metrics_.count_request(MetricChannel::kMqtt, metric_op(request->op), response.status, Clock::now() - job.received);
  if (response.status >= 500) {
    log_from_worker(LogLevel::kWarning,
                    "request on '" + job.topic + "' answered with " + std::to_string(response.status));
  }
}

ServiceResponse Pipeline::apply_ordered(const ServiceRequest& request, std::vector<OutMessage> messages_first) {
  ServiceResponse response;
  std::vector<OutMessage> shared;
  {
    Service::ShadowLock held = service_.lock(request.id);
    order_->begin_local(request.id);
    response = service_.handle(request, held);
    std::vector<OutMessage> out = std::move(messages_first);
    if (!response.written) shared = response.messages;
    for (OutMessage& m : response.messages) out.push_back(std::move(m));
    response.messages.clear();
    order_->end_local(request.id, response.written, std::move(out));
  }
  share(request.id, response, shared);
  return response;
}

void Pipeline::share(const ShadowId& id, const ServiceResponse& response, const std::vector<OutMessage>& messages) {
  // A 5xx says something about this broker or the store (unreachable,
  // failing over): other brokers' subscribers learn nothing from it, and
  // telling them would wait for the same store.
  if (messages.empty() || response.status >= 500 || !options_.cluster->share_replies) return;
  options_.cluster->share_replies(id, messages);
}

void Pipeline::remote_event(RemoteEvent event) {
  if (order_) order_->remote(std::move(event));
}

// --- HTTP worker threads ---------------------------------------------------------

ServiceResponse Pipeline::rest_request(const ServiceRequest& request) {
  const auto started = Clock::now();
  ServiceResponse response;
  if (throttled(request.id.thing)) {
    response = service_.reject(service_.reply_address(request),
                               Rejection{429, service_.config().throttled_message}, request.now);
  } else if (request.op != Operation::kGet && !has_room()) {
    response = service_.reject(service_.reply_address(request), queue_full(), request.now);
  } else if (order_) {
    response = apply_ordered(request);  // a REST error has no messages to publish
  } else {
    uint64_t durable_tag = 0;
    {
      Service::ShadowLock held = service_.lock(request.id);
      response = service_.handle(request, held);
      if (response.ok()) hand_over(std::move(response.messages));  // REST errors publish nothing
      // Any answer, a 404 included, may reveal the latest writes.
      if (options_.durable != nullptr) durable_tag = options_.durable->current_seq();
    }
    if (options_.durable != nullptr && !await_durable(durable_tag)) {
      response = service_.reject(service_.reply_address(request), Rejection{500, messages::kInternal},
                                 request.now);
    }
  }
  response.messages.clear();  // handed over above; a REST answer carries none
  metrics_.count_request(MetricChannel::kRest, metric_op(request.op), response.status,
                         Clock::now() - started);
  return response;
}

ServiceResponse Pipeline::rest_list(std::string_view thing, std::optional<std::string_view> page_size,
                                    std::optional<std::string_view> next_token, int64_t now) {
  const auto started = Clock::now();
  ServiceResponse response = thing.empty() ? service_.list_shadows(page_size, next_token, now)
                                           : service_.list_named_shadows(thing, page_size, next_token, now);
  // The list may show a shadow whose create is not durable yet.
  if (options_.durable != nullptr && !await_durable(options_.durable->current_seq())) {
    ReplyAddress to;
    to.channel = Channel::kRest;
    response = service_.reject(to, Rejection{500, messages::kInternal}, now);
  }
  metrics_.count_request(MetricChannel::kRest, thing.empty() ? MetricOp::kListAll : MetricOp::kList,
                         response.status, Clock::now() - started);
  return response;
}

ServiceResponse Pipeline::rest_publish(OutMessage message, int64_t now) {
  const auto started = Clock::now();
  ReplyAddress rest;
  rest.channel = Channel::kRest;
  ServiceResponse response;
  std::optional<ServiceRequest> request;
  if (message.payload.size() > service_.config().max_payload_bytes) {
    response = service_.reject(rest, Rejection{413, messages::kTooLarge}, now);
  } else if (request = service_.mqtt_request(message.topic, message.payload, now);
             request && throttled(request->id.thing)) {
    // A throttled shadow request is not forwarded either: nothing of it
    // reaches MQTT.
    response = service_.reject(rest, Rejection{429, service_.config().throttled_message}, now);
  } else if (!has_room()) {
    response = service_.reject(rest, queue_full(), now);
  } else if (!request) {
    hand_over({std::move(message)});
  } else if (order_) {
    // As below. In cluster mode the request message itself reaches this
    // broker's subscribers only: brokers share shadow answers and events,
    // not arbitrary publications (docs/scale-out.md). A copy, because
    // `request` views the payload.
    OutMessage forwarded = message;
    forwarded.retain = false;
    apply_ordered(*request, {std::move(forwarded)});
  } else {
    // Answered exactly as over MQTT; the reply follows the request, the
    // order an MQTT subscriber of both sees. `request` views the payload,
    // so the message is moved only after the engine call.
    Service::ShadowLock held = service_.lock(request->id);
    ServiceResponse answer = service_.handle(*request, held);
    message.retain = false;  // a shadow request is never kept as retained
    std::vector<OutMessage> out;
    out.reserve(answer.messages.size() + 1);
    out.push_back(std::move(message));
    for (OutMessage& m : answer.messages) out.push_back(std::move(m));
    hand_over(std::move(out));
  }
  metrics_.count_request(MetricChannel::kRest, MetricOp::kPublish, response.status,
                         Clock::now() - started);
  return response;
}

bool Pipeline::wait_until_durable() {
  if (options_.durable == nullptr) return true;
  return await_durable(options_.durable->current_seq());
}

size_t Pipeline::backlog() const {
  return queue_.depth() + (options_.durable != nullptr ? options_.durable->queue().size() : 0) +
         waiting_jobs_.load(std::memory_order_relaxed);
}

void Pipeline::hand_over(std::vector<OutMessage> messages) {
  if (messages.empty()) return;
  if (options_.durable != nullptr) {
    // The syncer wakes the broker thread once the fsync covers them.
    options_.durable->hold(std::move(messages), std::nullopt);
    return;
  }
  queue_.push(std::move(messages));
  if (options_.wakeup != nullptr) options_.wakeup->request();
}

bool Pipeline::await_durable(uint64_t tag) {
  using Wait = GroupCommitter::Wait;
  Wait w = options_.durable->await(tag, options_.durable_timeout);
  if (w == Wait::kDurable) return true;
  std::string why = w == Wait::kTimeout ? "the write-ahead log fsync took longer than " +
                                              std::to_string(options_.durable_timeout.count()) + " ms"
                                        : "the write-ahead log fsync failed";
  log_from_worker(LogLevel::kError, "REST request answered 500: " + why + " (durable mode)");
  return false;
}

void Pipeline::log_from_worker(LogLevel level, std::string line) {
  queue_.push_log(level, std::move(line));
  if (options_.wakeup != nullptr) options_.wakeup->request();
}

bool Pipeline::throttled(std::string_view thing) const {
  return options_.limiter != nullptr && !options_.limiter->allow(thing, Clock::now());
}

bool Pipeline::has_room() const {
  if (!queue_.has_room()) return false;
  return options_.durable == nullptr || options_.durable->queue().size() < PublishQueue::kSoftLimit;
}

}  // namespace shadow::runtime
