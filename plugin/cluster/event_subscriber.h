// Receives other brokers' events over Redis sharded pub/sub (SSUBSCRIBE, Redis
// 7.0): one thread, one connection to each master that serves a wanted
// channel, each channel subscribed on the master of its slot.
//
// Before a channel is subscribed on a master, this broker's name
// (`listener_id`) is added to the channel's listeners set on that master
// (redis_store.h, Listeners): writes publish only when another broker is
// there. The name is removed when the channel is no longer wanted, and for
// every channel when the subscriber stops.
//
// What it keeps right when the cluster changes:
// - a dropped connection (a master died, a network fault): its channels are
//   subscribed again, on whatever master serves their slots by then (the
//   slot map is reloaded first), with backoff while nothing answers;
// - a failover or a resharding: the slot map is compared every second with
//   where each channel is subscribed; a channel whose slot moved is
//   subscribed on its new master (Redis 7.0 also drops shard-channel
//   subscribers of a slot it hands over, with an SUNSUBSCRIBE push, and a
//   subscription sent to the wrong node is answered MOVED: both lead to the
//   same re-subscription);
// - every re-subscription after a loss is reported (`resubscribed`), since
//   events published in between were lost for this broker (pub/sub keeps
//   nothing) and, after a lossy failover, versions may be reused.
//
// Thread-safe API; the handlers run on the subscriber thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "store/redis/cluster_client.h"

namespace shadow::cluster {

class EventSubscriber {
 public:
  struct Handlers {
    // A message on a subscribed channel.
    std::function<void(std::string_view channel, std::string_view payload)> message;
    // Channels subscribed again after their subscription had been lost.
    std::function<void(const std::vector<std::string>& channels)> resubscribed;
    // A line for the broker's log (level: true = error, false = notice).
    std::function<void(bool error, std::string line)> log;
  };

  // `client` gives the slot map and the connection settings (TLS, AUTH,
  // timeouts); it must outlive the subscriber. `listener_id` is this
  // broker's name in listener sets.
  EventSubscriber(redis::ClusterClient& client, std::string listener_id, Handlers handlers);
  // Stops the thread.
  ~EventSubscriber();
  EventSubscriber(const EventSubscriber&) = delete;
  EventSubscriber& operator=(const EventSubscriber&) = delete;

  Status start();
  // Stops the thread (also done by the destructor): no handler runs after it.
  void stop();

  // Wants `channels`, and waits up to `wait` until Redis confirmed every one
  // of them. True when all are confirmed; false when the time ran out (they
  // stay wanted and are subscribed as soon as their master answers). Does
  // not wait while the cluster is known to be unreachable.
  bool subscribe(const std::vector<std::string>& channels, std::chrono::milliseconds wait);
  // No longer wants `channels`.
  void unsubscribe(const std::vector<std::string>& channels);

  // Whether Redis confirmed the subscription of `channel`.
  bool confirmed(const std::string& channel) const;

  // OK when every wanted channel is subscribed; else kUnavailable saying how
  // many are not and the last error.
  Status health() const;

  struct Counters {
    uint64_t messages = 0;         // messages received
    uint64_t resubscriptions = 0;  // channels subscribed again after a loss
    uint64_t connection_losses = 0;
    uint64_t wanted = 0;           // channels wanted now
    uint64_t subscribed = 0;       // of which confirmed
  };
  Counters counters() const;

 private:
  struct Node;
  enum class Op { kSubscribe, kUnsubscribe };
  struct Sent {
    Op op;
    std::string channel;
  };

  void run();
  // Subscriber thread: takes the API's requests, subscribes what has no
  // node, checks the slot map, reads what arrived.
  void take_requests();
  void place_unplaced();
  // The node's entry with its subscription connection and its plain one
  // (listener sets: a subscribed connection takes no other command),
  // opened if missing (by `deadline`); null when one cannot be opened
  // (*failure says why).
  Node* open_node(const redis::NodeAddress& address, Status* failure, redis::Clock::time_point deadline);
  // Adds our name to the listener sets of each node's channels, all nodes
  // at once; returns, per node, the channels whose set now holds it (the
  // others stay unplaced, *failure says why).
  std::map<redis::NodeAddress, std::vector<std::string>> register_all(
      const std::map<redis::NodeAddress, std::vector<std::string>>& by_node, Status* failure);
  // Removes our name from the listener sets of `channels` on `node`, giving
  // up at `deadline`; best effort: a name left behind only costs events
  // sent to nobody.
  void unregister_on(const redis::NodeAddress& node, const std::vector<std::string>& channels,
                     redis::Clock::time_point deadline);
  // Removes up to `max` of the names queued by take_requests. Done in
  // chunks, after placing, so that a new subscription never waits behind
  // the 16,384 removals of a firehose turned off.
  void unregister_some(size_t max, redis::Clock::time_point deadline);
  // On stop: unregisters every placed channel and every queued one, within
  // a second in all (a stalled node must not hold up the broker's shutdown).
  void unregister_all();
  void check_topology();
  void read_node(Node& node);
  void drop_node(const redis::NodeAddress& address, const Status& why);
  // Marks a channel as needing a (new) subscription.
  void unplace(const std::string& channel);
  void unconfirm(const std::string& channel);
  // Marks `channels` confirmed with one lock and one wake-up of the waiters
  // (a wildcard subscription confirms 16,384 at once).
  void confirm(const std::vector<std::string>& channels);
  void note_error(const Status& s);

  redis::ClusterClient& client_;
  const std::string listener_id_;
  Handlers handlers_;
  int wake_fd_ = -1;
  std::thread thread_;

  // Shared with API callers.
  mutable std::mutex mu_;
  std::condition_variable confirmed_cv_;
  bool stop_ = false;
  std::vector<std::pair<Op, std::string>> requests_;
  std::unordered_set<std::string> wanted_;
  std::unordered_set<std::string> confirmed_;
  bool unreachable_ = false;  // the last placement found no node answering
  std::string last_error_;
  Counters counters_;

  // Subscriber thread only.
  std::map<redis::NodeAddress, std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, redis::NodeAddress> placed_;  // channel -> node it is (being) subscribed on
  std::set<std::string> unplaced_;
  std::unordered_set<std::string> ever_confirmed_;
  // Channels no longer wanted whose listener name is still to be removed,
  // by the node they were placed on. A channel placed again leaves it.
  std::map<redis::NodeAddress, std::set<std::string>> to_unregister_;
  std::chrono::steady_clock::time_point next_placement_{};
  std::chrono::steady_clock::time_point next_topology_check_{};
  int placement_failures_ = 0;
};

}  // namespace shadow::cluster
