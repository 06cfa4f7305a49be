// Cluster mode (several brokers on one shared store): the order in which
// this broker publishes what concerns one shadow, when the answers of its
// own requests and the events of other brokers' writes meet.
//
// Where the order comes from:
// - Between brokers, the store decides: every write is a compare-and-set on
//   the shadow's version, and the store delivers each write's event to the
//   brokers that listen in the order of the writes (docs/scale-out.md). So
//   the events of other brokers arrive here in version order.
// - Within this broker, the shadow's lock (Service::lock) orders its own
//   requests; the pipeline calls begin_local() and end_local() under it.
// - This class merges the two streams. While a request of this broker on a
//   shadow is running, events of other brokers for that shadow are held;
//   when it ends, the held events older than its write go out first, then
//   its answer, then the rest. So a subscriber here sees a shadow's versions
//   in order, even when another broker wrote the next version before this
//   broker's write was confirmed.
// - The other way round, this broker's write may be confirmed before the
//   event of the write it followed (another broker's) has arrived here. When
//   this broker listens to the shadow's events, its answer then waits for
//   that event, at most `local_wait`, so that its subscribers see version v
//   before v+1. If the event never comes (lost with a subscription, or the
//   subscription began after that write), the answer goes out when the wait
//   ends, or as soon as a newer event arrives, counted as a gap. Before
//   anything of the shadow was published here, the wait is a tenth of
//   `local_wait`: the awaited write may predate the subscription.
// - A guard per shadow drops an event whose write is not newer than the last
//   one published (a repeat, e.g. after a resubscription), and counts gaps
//   (versions skipped: events lost while a subscription was down). Gaps are
//   published anyway: AWS clients catch up with a get.
//
// Everything goes to the PublishQueue, which the broker thread drains in push
// order. Thread-safe: workers, HTTP threads and the event subscriber call it.
// Pure code: no broker headers, no Redis.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugin/runtime/publish_queue.h"
#include "shadow_core/service.h"

namespace shadow::runtime {

class Wakeup;

// What another broker published for a shadow.
struct RemoteEvent {
  ShadowId id;
  // The write it announces; nullopt for messages that wrote nothing (a
  // get/accepted or a rejection answered by the other broker).
  std::optional<WrittenStamps> written;
  std::vector<OutMessage> messages;
};

class ShadowOrder {
 public:
  // `queue` (and `wakeup`, if not null) must outlive the object.
  ShadowOrder(PublishQueue& queue, Wakeup* wakeup,
              std::chrono::milliseconds local_wait = std::chrono::milliseconds(500));

  // Whether this broker receives the events of `thing` (its subscription to
  // them is confirmed). Only then does an answer wait for the event of the
  // write before it. Thread-safe; called with internal locks held, so it
  // must not call back into this object. Unset: never listening. Set it
  // before the first request.
  void set_listening(std::function<bool(std::string_view thing)> listening) { listening_ = std::move(listening); }

  // Publishes the answers whose wait for an earlier event has run out (any
  // thread; the pipeline calls it on every flush).
  void expire(std::chrono::steady_clock::time_point now);

  // Under the shadow's lock, before the engine runs.
  void begin_local(const ShadowId& id);
  // Under the same lock, after the engine: publishes `messages` (this
  // broker's answer to the request, `written` its write if it made one) in
  // order with the held events of other brokers.
  void end_local(const ShadowId& id, const std::optional<WrittenStamps>& written, std::vector<OutMessage> messages);

  // An event of another broker (the subscriber thread).
  void remote(RemoteEvent event);

  // Forgets the last published write of every shadow of the things `pred`
  // accepts: their events may have been lost, and after a store failover
  // versions may even be reused, so the next event is published whatever
  // its version. Called when the subscription carrying their events was
  // (re)established, and when no client here wants them any more.
  void reset(const std::function<bool(std::string_view thing)>& pred);

  struct Counters {
    uint64_t published = 0;   // remote events published
    uint64_t duplicates = 0;  // remote events dropped: not newer than the last write published
    uint64_t gaps = 0;        // remote events that skipped versions
    uint64_t held = 0;        // remote events held behind a local request
    uint64_t waited = 0;      // local answers that waited for an earlier remote event
    uint64_t wait_expired = 0;  // of which the event did not come in time
  };
  Counters counters() const;

  // Shadows with state kept (for tests and metrics).
  size_t tracked() const;

 private:
  // A local answer waiting for the event of the write it followed.
  struct Waiting {
    WrittenStamps written;
    std::vector<OutMessage> messages;
    std::chrono::steady_clock::time_point deadline;
  };
  struct State {
    std::optional<RecordStamp> last;  // the newest write published here
    int local = 0;                    // requests of this broker running on the shadow
    bool remote_seen = false;         // events of other brokers arrived for it
    std::vector<RemoteEvent> held;
    std::vector<Waiting> waiting;     // in write order
  };
  using ThingStates = std::unordered_map<std::string, State>;  // by shadow name
  struct Stripe {
    mutable std::mutex mu;
    std::unordered_map<std::string, ThingStates> things;
    size_t shadows = 0;
  };
  static constexpr size_t kStripes = 64;
  // Above this many shadows in a stripe, the idle ones are forgotten (their
  // guard only drops repeats, which are rare): bounds memory when this
  // broker receives every event of the cluster (wildcard subscribers).
  static constexpr size_t kMaxShadowsPerStripe = 16384;

  Stripe& stripe_for(std::string_view thing);
  State& state(Stripe& s, const ShadowId& id);
  // Publishes a remote event if the guard lets it through. Stripe locked.
  void deliver(State& st, RemoteEvent& e);
  void push(std::vector<OutMessage> messages);
  // Drops the state of idle shadows without a guard worth keeping. Stripe locked.
  void trim(Stripe& s);
  // Publishes the waiting answers that may go: those the published writes
  // caught up with, and (`older_than` set) those older than that write. Stripe locked.
  void release_waiting(State& st, const std::optional<RecordStamp>& older_than);
  // Publishes the first waiting answer (`gap`: the event it waited for did
  // not come). Stripe locked.
  void publish_first_waiting(State& st, bool gap);
  // Publishes a local answer now, or queues it behind the event it follows. Stripe locked.
  void local_answer(State& st, const ShadowId& id, const WrittenStamps& written, std::vector<OutMessage> messages);
  // Whether the state of an idle shadow can be forgotten. Stripe locked.
  static bool idle(const State& st) { return st.local == 0 && st.held.empty() && st.waiting.empty(); }

  PublishQueue& queue_;
  Wakeup* wakeup_;
  std::chrono::milliseconds local_wait_;
  std::function<bool(std::string_view thing)> listening_;
  std::atomic<size_t> waiting_count_{0};
  std::array<Stripe, kStripes> stripes_;
  std::atomic<uint64_t> published_{0}, duplicates_{0}, gaps_{0}, held_{0}, waited_{0}, wait_expired_{0};
};

}  // namespace shadow::runtime
