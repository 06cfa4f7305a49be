// The presence state machine: which client connections are live, what
// their lifecycle events say, and when a thing becomes connected or
// disconnected. Pure code (no broker headers): the Mosquitto glue
// (plugin/presence_hooks.h) feeds it what the broker lets a plugin see,
// and publishes what tick() returns.
//
// What Mosquitto 2.0.11 shows a plugin, and how it is read here
// (docs/compatibility.md#lifecycle-events has the user-facing version):
// - There is no connect event. connecting() is the CONNECT as seen by the
//   username/password check (which runs before the broker accepts the
//   client); the connection is confirmed at the end of that loop pass
//   (tick()) unless it was refused meanwhile (disconnected() without a
//   client id), or earlier by its first publish or subscription (active()).
//   Listeners that take the identity from the certificate
//   (use_identity_as_username) skip that check: their clients are first
//   seen by active(), as are all clients with connect_detection activity.
// - disconnected() comes for every end of a connection that had a client
//   id, but says nothing about why. The Will, if any, is checked (and
//   published) right after it: will_published() then marks the end as a
//   lost connection. An end while a new CONNECT with the same client id is
//   pending is a takeover (DUPLICATE_CLIENTID): the broker closes the old
//   connection while it accepts the new one, so the old one's disconnected
//   event always precedes the new one's connected event.
// - Nothing is reported when the broker stops: recover() reports, at the
//   next start, every client the previous run left connected.
//
// Everything that happens within one broker loop pass is journaled in
// order and turned into output by tick() at the end of the pass, so that
// the Will check (which follows disconnected()) is known before the
// disconnected event is built, and pending connects are confirmed after
// the ends they caused.
//
// Connectivity of a thing: connected while at least one live connection is
// bound to it. Changes are coalesced per tick() (a takeover or a connect
// and drop within one pass changes nothing) and compared with the last
// state written, so a thing's state is never reported twice in a row.
//
// Broker thread only. Persistence (records.h) goes to `store`, all records
// of one pass in one write_items(); a failed store write is logged by the
// caller through tick()'s `errors` and does not stop the events.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "plugin/presence/events.h"
#include "plugin/presence/records.h"
#include "shadow_core/config.h"
#include "shadow_core/service.h"
#include "shadow_core/topic.h"
#include "store/store.h"

namespace shadow::presence {

// The broker's handle of one connection; opaque here. It is only compared,
// and a handle is never reused within one loop pass (the broker frees a
// disconnected client at the start of the next pass).
using ConnKey = const void*;

// What the glue knows about a client when it is first seen.
struct ClientFacts {
  std::string client_id;
  std::string principal_id;
  std::string ip_address;
  std::optional<std::string> thing;  // the thing whose connectivity this client is
};

struct TrackerOptions {
  bool lifecycle_events = false;  // build the $aws/events/... messages
};

// A thing whose connectivity changed (after coalescing within one tick).
struct ThingChange {
  std::string thing;
  bool connected = false;
  int64_t timestamp_ms = 0;
};

struct TickResult {
  std::vector<OutMessage> events;  // lifecycle events in order (lifecycle_events only)
  std::vector<ThingChange> things;
  std::vector<std::string> errors;  // store failures, for the log
  uint64_t connected = 0;           // connections confirmed in this tick
  uint64_t disconnected = 0;        // connections ended in this tick
};

class PresenceTracker {
 public:
  // `store` must outlive the tracker.
  PresenceTracker(Store& store, TrackerOptions options);

  // Start-up: journals a disconnected event (SERVER_INITIATED_DISCONNECT)
  // for every client the store says was connected when the previous run
  // stopped, and its thing's change; they come out of the next tick().
  Status recover(int64_t now_ms);

  // True when `key` is a pending or live connection: the glue then need
  // not compute ClientFacts.
  bool knows(ConnKey key) const { return conns_.count(key) > 0; }

  // True when `key` ended (or was refused) in this loop pass: an ACL check
  // of a write from it is its Will, not activity.
  bool ended_in_this_pass(ConnKey key) const { return ended_.count(key) > 0; }

  // A CONNECT passed to the username/password check.
  void connecting(ConnKey key, ClientFacts facts, int64_t now_ms);

  // A publish or subscription from `key`: confirms a pending connection,
  // or (first sight) connects an unknown one with facts().
  void active(ConnKey key, const std::function<ClientFacts()>& facts, int64_t now_ms);

  // A subscription (filter) the plugin granted to `key`, or an
  // unsubscription; call active() first. Consecutive ones of a connection
  // within one pass make one event, as AWS reports one per packet.
  void subscribed(ConnKey key, std::string_view filter);
  void unsubscribed(ConnKey key, std::string_view filter);

  // The Will of a connection that ended in this pass is being published.
  void will_published(ConnKey key);

  // The connection ended. `had_client_id` false: it never got one (a TCP
  // connect without CONNECT, or a CONNECT that was refused).
  void disconnected(ConnKey key, bool had_client_id, int64_t now_ms);

  // The end of a broker loop pass: confirms the pending connections and
  // returns what the pass produced, in order.
  TickResult tick(int64_t now_ms);

  size_t live_connections() const { return live_; }

 private:
  struct Connection {
    ClientFacts facts;
    Session session;
    bool pending = true;
    int64_t since_ms = 0;
  };
  struct Entry {
    enum Kind { kConnected, kDisconnected, kSubscribed, kUnsubscribed } kind;
    Connection conn;                              // a copy: the connection may be gone by tick()
    int64_t at_ms = 0;
    std::optional<DisconnectReason> reason;       // kDisconnected
    bool recovered = false;                       // kDisconnected from recover()
    std::vector<std::string> topics;              // kSubscribed / kUnsubscribed
    ConnKey key = nullptr;
  };

  // Assigns the session and version and journals the connected entry.
  void confirm(ConnKey key, Connection& conn, int64_t now_ms);
  void subscription(ConnKey key, std::string_view filter, bool subscribe);
  uint64_t next_version(const std::string& client_id, std::vector<std::string>& errors);
  std::string new_session_id();
  void process(Entry& e, TickResult& out, std::unordered_map<std::string, ThingChange>& things,
               std::vector<std::string>& thing_order, std::vector<ItemChange>& batch);
  void persist(const Entry& e, std::vector<ItemChange>& batch);

  Store& store_;
  TrackerOptions options_;
  std::unordered_map<ConnKey, Connection> conns_;
  std::vector<ConnKey> pending_order_;                 // pending connections, by arrival
  std::unordered_map<std::string, ConnKey> pending_by_client_;
  std::unordered_set<ConnKey> ended_;                  // ended in this pass
  std::unordered_map<ConnKey, size_t> ended_entry_;    // journal index of their end
  std::vector<Entry> journal_;
  std::vector<std::string> version_errors_;
  // Last versionNumber per client id with a connection known here; others
  // are read from the store.
  std::unordered_map<std::string, uint64_t> versions_;
  std::unordered_map<std::string, int> live_per_client_;
  std::unordered_map<std::string, int> live_per_thing_;
  // The connectivity last written per thing (thing/ records), so that
  // changes are compared without a store read; filled from the store on
  // first sight of a thing.
  std::unordered_map<std::string, bool> thing_state_;
  size_t live_ = 0;
  std::mt19937_64 rng_;
};

// The shadow a subscription filter asks the delta of: an exact
// .../update/delta topic of a classic or named shadow, AWS or short form,
// with valid names; nullopt for anything else (wildcards included).
std::optional<ShadowId> delta_subscription(std::string_view filter, const Config& engine);

}  // namespace shadow::presence
