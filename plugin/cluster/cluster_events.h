// Cluster mode (plugin_opt_store redis-cluster): how the brokers of a
// cluster tell each other what they published, so that a subscriber sees the
// same answers and events whichever broker it is connected to and whichever
// broker (or REST API) the request went through. docs/scale-out.md describes
// the whole design; in short:
//
// - A write carries its messages (accepted, delta, documents, or
//   delete/accepted) as one event published by the store inside the write
//   itself, on the thing's shard channel and its slot's firehose channel
//   (encode_commit, Service::set_commit_event_encoder). So the events of a
//   shadow leave the store in version order, and only if the write happened.
// - An answer that wrote nothing (get/accepted, a rejection) is published on
//   the same channels afterwards (share_replies).
// - Each broker subscribes only to the channels of things its clients
//   subscribed to (subscribed / unsubscribed / disconnected, fed by the
//   broker's ACL checks), and to every slot's firehose channel while a
//   client holds a wildcard subscription over thing names.
// - A received event goes to the pipeline's ShadowOrder, which publishes it
//   in order with this broker's own answers. Each broker is named in the
//   listener set of every channel it subscribes to (the store's
//   listener_id, also the origin in every event it publishes), and a write
//   publishes only when another name is there: nothing goes out for things
//   only the writing broker watches. When another broker watches too, the
//   event also comes back to the writer and is dropped there: the request
//   that made it already published its messages.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "plugin/cluster/event_subscriber.h"
#include "plugin/cluster/interest.h"
#include "plugin/runtime/shadow_order.h"
#include "shadow_core/service.h"
#include "store/redis/redis_store.h"

namespace shadow::cluster {

struct ClusterEventsOptions {
  bool short_topics = true;
  // How long a SUBSCRIBE waits on the broker thread for Redis to confirm the
  // event subscription it caused, so that the client's SUBACK means "events
  // of later writes reach me". Bounded, and skipped while Redis is
  // unreachable.
  std::chrono::milliseconds subscribe_wait{200};
};

class ClusterEvents {
 public:
  struct Sinks {
    // Publishes another broker's event here (Pipeline::remote_event).
    std::function<void(runtime::RemoteEvent)> event;
    // Forgets the last published version of the things `pred` accepts
    // (ShadowOrder::reset).
    std::function<void(const std::function<bool(std::string_view)>& pred)> reset;
    // A line for the broker's log, from any thread (error or notice).
    std::function<void(bool error, std::string line)> log;
  };

  // `store` must outlive the object; its options' listener_id names this
  // broker in events and listener sets.
  ClusterEvents(RedisStore& store, ClusterEventsOptions options, Sinks sinks);
  ~ClusterEvents();

  // Starts the subscriber thread.
  Status start();
  // Stops it: no sink is called after this returns.
  void stop() { subscriber_.stop(); }

  // Any thread: the event a write carries (Service::set_commit_event_encoder).
  std::string encode_commit(const Service::Commit& commit) const;
  // Any thread: publishes the messages of an answer that wrote nothing.
  void share_replies(const ShadowId& id, const std::vector<OutMessage>& messages);

  // Broker thread: a client subscribed to / unsubscribed from `filter`, or
  // disconnected (a clean session loses its subscriptions; a persistent
  // one keeps them).
  void subscribed(const std::string& client, std::string_view filter);
  void unsubscribed(const std::string& client, std::string_view filter);
  void disconnected(const std::string& client, bool clean_session);

  // Any thread: whether the events of `thing` reach this broker (its
  // channel, or its slot's firehose, is subscribed and confirmed).
  bool listening(std::string_view thing) const;

  // OK when every event channel this broker wants is subscribed.
  Status health() const { return subscriber_.health(); }

  // Prometheus lines (docs/operations.md), `order` being the pipeline's.
  std::string metrics_text(const runtime::ShadowOrder::Counters& order) const;

 private:
  void received(std::string_view channel, std::string_view payload);
  void resubscribed(const std::vector<std::string>& channels);
  void apply(const InterestTable::Change& change);
  // The slot of a thing's channels.
  int slot_of(std::string_view thing) const;

  RedisStore& store_;
  ClusterEventsOptions options_;
  Sinks sinks_;
  std::string prefix_;
  std::vector<std::string> firehose_;                   // by slot
  std::unordered_map<std::string, int> firehose_slot_;  // channel -> slot
  InterestTable interest_;                              // broker thread only
  std::atomic<bool> firehose_on_{false};
  EventSubscriber subscriber_;

  std::atomic<uint64_t> received_{0}, own_{0}, malformed_{0}, share_failures_{0}, doubled_{0};
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point last_malformed_log_{};
};

}  // namespace shadow::cluster
