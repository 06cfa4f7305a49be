// The request pipeline: the one path every shadow request takes, whether it
// arrived as an MQTT PUBLISH (broker thread) or as an HTTP request (HTTP
// worker threads):
//
//   rate limit -> shadow lock -> engine (Service) -> hand-off -> metrics
//
// - Rate limit: the per-thing token bucket (plugin_opt_rate_limit_per_thing),
//   shared by both channels. Over it, a 429 rejection and nothing else.
// - Shadow lock: Service::lock(), held from the engine call until the
//   response is handed off, so replies and events leave in the order the
//   engine applied the requests (shadow_core/service.h explains why this lock
//   is the ordering guarantee).
// - Hand-off: the broker thread publishes at once; an HTTP thread pushes to
//   the PublishQueue, which the broker thread drains on its next TICK or
//   MESSAGE; in durable mode (plugin_opt_sync_writes true) both hold the
//   messages back until the write-ahead log fsync covers their write
//   (group_commit.h), and an HTTP thread waits for that fsync before it
//   answers.
// - Metrics: one count and one latency sample per request.
//
// Cluster mode (plugin_opt_store redis-cluster, PipelineOptions::cluster):
// the store is shared with other brokers and every store call is a network
// round trip that may wait out a failover, so the broker thread must not
// make them. MQTT requests then run on worker threads (one shadow always on
// the same worker, so its requests keep their arrival order); their answers,
// like REST's, reach the broker thread through the PublishQueue, and every
// answer and event passes a ShadowOrder (shadow_order.h), which merges them
// with the events of the other brokers' writes.
//
// Everything the broker thread does goes through BrokerOutput, which the
// Mosquitto glue implements; this file has no broker headers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/metrics.h"
#include "plugin/runtime/publish_queue.h"
#include "plugin/runtime/rate_limiter.h"
#include "plugin/runtime/shadow_order.h"
#include "shadow_core/service.h"

namespace shadow::runtime {

// The broker, as the pipeline sees it. Called on the broker thread only.
class BrokerOutput {
 public:
  virtual ~BrokerOutput() = default;
  // Queues one message for the broker to route; false when the broker
  // refused it.
  virtual bool publish(const OutMessage& message) = 0;
  virtual void log(LogLevel level, const std::string& line) = 0;
};

// Wakes the broker thread when another thread hands it something, so it
// does not wait for its next idle TICK. Implemented by the glue's
// BrokerWaker; thread-safe.
class Wakeup {
 public:
  virtual ~Wakeup() = default;
  virtual void request() = 0;      // any thread
  virtual void acknowledge() = 0;  // broker thread, before it drains
};

// Cluster mode: see the file comment.
struct ClusterOptions {
  // Threads that run MQTT requests. A request waits there for the store.
  int workers = 16;
  // Requests waiting per worker; beyond it a request is answered 503.
  size_t worker_queue_limit = 10000;
  // Hands the messages of an MQTT request that wrote nothing (get/accepted,
  // a 4xx rejection) to the other brokers, whose subscribers see them too.
  // Runs on the worker after the messages were published here. A write's
  // messages travel with the write instead (Service::set_commit_event_encoder).
  std::function<void(const ShadowId& id, const std::vector<OutMessage>& messages)> share_replies;
};

struct PipelineOptions {
  RateLimiter* limiter = nullptr;  // null: no rate limit
  DurableMode* durable = nullptr;  // null: replies leave as soon as the write is applied
  Wakeup* wakeup = nullptr;        // null: hand-offs wait for the next TICK
  // How long an HTTP thread waits for the fsync covering its write (durable
  // mode) before it answers 500.
  std::chrono::milliseconds durable_timeout{10000};
  // Set: cluster mode (not with `durable`).
  std::optional<ClusterOptions> cluster = std::nullopt;
};

class Pipeline {
 public:
  // Every reference and pointer must outlive the pipeline.
  Pipeline(Service& service, Metrics& metrics, PipelineOptions options);
  // Stops the workers (cluster mode); requests still waiting are dropped.
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  Service& service() { return service_; }

  // --- broker thread ---------------------------------------------------------

  // A PUBLISH the broker received from a client. Returns true when it was a
  // shadow request, which the pipeline answered (through `out`, or held back
  // in durable mode); the caller then clears its retain flag, since a
  // request must never be kept as a retained message.
  // `identity` (the client id) is recorded in the shadow history.
  // A rule's republish to a shadow request topic comes here too, with
  // `origin` (OutMessage::origin) to stamp on every message of the answer.
  bool mqtt_publish(std::string_view topic, std::string_view payload, int64_t now,
                    BrokerOutput& out, std::string_view identity = {}, uint64_t origin = 0);

  // A request the service makes itself, e.g. one shadow write of a fleet
  // update chunk (request.channel kRest, so that it publishes events and no
  // reply) or a presence write (Channel::kService: only delta and documents
  // events). No rate limit; otherwise the path of an MQTT request: the
  // shadow lock, what HTTP threads queued goes out first, the engine, the
  // events published (or held back in durable mode), metrics under the
  // "service" channel.
  ServiceResponse service_request(const ServiceRequest& request, BrokerOutput& out);

  // The current delta of `id`, if it is not empty, to one client on `topic`
  // (its update/delta topic, AWS or short form): the catch-up after that
  // client subscribed (plugin_opt_delta_on_subscribe). Under the shadow's
  // lock, so it cannot overtake the events of an earlier write; held back
  // in durable mode like any answer. Returns whether a delta was sent.
  bool send_current_delta(const ShadowId& id, const std::string& topic, const std::string& client_id,
                          int64_t now, BrokerOutput& out);

  // Publishes what HTTP threads handed over and, in durable mode, what has
  // become durable (or, after a failed fsync, the 500 answers). The glue
  // calls it on every TICK; mqtt_publish calls it before each request.
  void flush(BrokerOutput& out);

  // --- HTTP worker threads ----------------------------------------------------

  // A REST get, update or delete. The response is the HTTP answer; the MQTT
  // events it causes are handed to the broker thread.
  ServiceResponse rest_request(const ServiceRequest& request);

  // ListNamedShadowsForThing and our ListShadows extension (thing empty).
  ServiceResponse rest_list(std::string_view thing, std::optional<std::string_view> page_size,
                            std::optional<std::string_view> next_token, int64_t now);

  // An HTTP Publish: `message` reaches MQTT subscribers like any publish; on
  // a shadow request topic the service also runs exactly as for an MQTT
  // request (its reply follows the message). Status 200 with an empty body
  // when handed over; else 413, 429 or 503 with the error document.
  ServiceResponse rest_publish(OutMessage message, int64_t now);

  // --- cluster mode -------------------------------------------------------------

  // Any thread (the event subscriber): what another broker published for a
  // shadow. Ignored outside cluster mode.
  void remote_event(RemoteEvent event);
  // The ordering of local answers and remote events; null outside cluster mode.
  ShadowOrder* order() { return order_.get(); }

  // Messages waiting for the broker thread (queue and durable hold-back) and,
  // in cluster mode, requests waiting for a worker.
  size_t backlog() const;

  // HTTP threads that answer from the store outside the request path (fleet
  // search, shadow history): in durable mode, waits until every write
  // applied so far is durable, so an answer never shows a write that a crash
  // could still undo. True at once without durable mode; false when the
  // fsync failed or took too long (answer 500 then).
  bool wait_until_durable();

  // A line for the broker's log, written by the broker thread (HTTP threads
  // may not call the broker's logger).
  void log_from_worker(LogLevel level, std::string line);

 private:
  bool throttled(std::string_view thing) const;
  bool has_room() const;
  // Broker thread: publishes now, or holds back in durable mode.
  void deliver(ServiceResponse& response, const ServiceRequest& request, BrokerOutput& out);
  void publish(const OutMessage& message, BrokerOutput& out);
  // Broker thread: messages that answer no request (service writes,
  // catch-ups): published now, or held back until durable.
  void emit(std::vector<OutMessage> messages, BrokerOutput& out);
  // HTTP thread: to the broker thread, queued or held back.
  void hand_over(std::vector<OutMessage> messages);
  // Durable mode, broker thread: publishes what is durable, answers 500 after
  // a failed fsync.
  void release_durable(BrokerOutput& out);
  // Durable mode, HTTP thread: true once every write up to `tag` is durable.
  bool await_durable(uint64_t tag);

  // Cluster mode: an MQTT request copied off the broker thread.
  struct Job {
    std::string topic;
    std::string payload;
    int64_t now = 0;
    std::chrono::steady_clock::time_point received;
  };
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> jobs;
  };
  // Broker thread: queues the request for its shadow's worker; false when
  // that worker's queue is full.
  bool enqueue(const ShadowId& id, std::string_view topic, std::string_view payload, int64_t now,
               std::chrono::steady_clock::time_point received);
  void run_lane(Lane& lane);
  void run_job(const Job& job);
  // Cluster mode: the engine call under the shadow's lock, and its messages
  // to the ShadowOrder. `messages_first` go out before the answer's (an HTTP
  // Publish's own message). Returns the answer with its messages taken.
  ServiceResponse apply_ordered(const ServiceRequest& request, std::vector<OutMessage> messages_first = {});
  // Cluster mode: passes the messages of a request that wrote nothing to the
  // other brokers.
  void share(const ShadowId& id, const ServiceResponse& response, const std::vector<OutMessage>& messages);

  Service& service_;
  Metrics& metrics_;
  PipelineOptions options_;
  PublishQueue queue_;
  bool warned_sync_failed_ = false;  // broker thread only
  std::unique_ptr<ShadowOrder> order_;                // cluster mode
  std::vector<std::unique_ptr<Lane>> lanes_;          // cluster mode: one per worker
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> waiting_jobs_{0};
};

}  // namespace shadow::runtime
