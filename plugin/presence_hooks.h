// Mosquitto's side of presence (docs/mqtt-api.md#presence-and-catch-up):
// turns what the broker lets a plugin see into the PresenceTracker's
// inputs (plugin/presence/tracker.h explains what each one means), and at
// the end of every loop pass (TICK) publishes the lifecycle events, writes
// the connected state into the shadows through the request pipeline, and
// sends the catch-up deltas.
//
// Callbacks, each registered only when an option needs it:
// - BASIC_AUTH (connect_detection connect): a CONNECT. Always answers
//   MOSQ_ERR_PLUGIN_DEFER, so the broker's own checks decide; register it
//   with OnFailure::kDefer.
// - DISCONNECT: the end of a connection.
// - the ACL check (through AclCheck, as its AccessObserver): publishes,
//   subscriptions, unsubscriptions and Will messages.
// - TICK: the end of a loop pass.
//
// principalIdentifier: the SHA-256 fingerprint of the client certificate
// (lowercase hex, what AWS calls the certificate id) when the listener
// requires certificates; else the username without the "?SDK=..." metrics
// the AWS SDKs append; else "".
//
// Presence writes are bounded per loop pass (kWriteBudget), so that a
// connect/disconnect storm cannot stall shadow traffic: what does not fit
// waits, one entry per thing holding its latest state, so a thing that
// flaps while it waits is written once (or not at all, if it is back to
// the state last written). While writes wait, the broker loop is woken so
// that the next pass comes at once.
//
// The thing of a client (whose connectivity and presence field it drives):
// with thing_identity, its bound thing (none for admins); without, its
// client id when that is a valid thing name.
//
// Broker thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugin/acl_check.h"
#include "plugin/options/options.h"
#include "plugin/presence/tracker.h"
#include "plugin/runtime/pipeline.h"
#include "store/store.h"

struct mosquitto;

namespace shadow::plugin {

class PresenceHooks final : public AccessObserver {
 public:
  // Every reference must outlive the object; so must `wakeup` (optional).
  PresenceHooks(const PluginConfig& config, Store& store, runtime::Pipeline& pipeline,
                runtime::BrokerOutput& out, runtime::Wakeup* wakeup);

  // The longest a loop pass spends on presence writes (at least one is made).
  static constexpr std::chrono::microseconds kWriteBudget{2000};

  // Journals the disconnect of every client the previous run left
  // connected; the first TICK reports them. Call before the listeners open.
  Status start();

  // MOSQ_EVT_BASIC_AUTH. Always MOSQ_ERR_PLUGIN_DEFER.
  int on_basic_auth(int event, void* event_data);
  // MOSQ_EVT_DISCONNECT. Always MOSQ_ERR_SUCCESS.
  int on_disconnect(int event, void* event_data);
  // MOSQ_EVT_TICK. Always MOSQ_ERR_SUCCESS.
  int on_tick(int event, void* event_data);

  // AccessObserver.
  void observe(const mosquitto_evt_acl_check& event, int answer) override;

 private:
  struct CatchUp {
    std::string client_id;
    ShadowId id;
    std::string topic;
  };

  presence::ClientFacts facts_of(mosquitto* client) const;
  void queue_presence_field(const presence::ThingChange& change);
  void write_presence_fields();
  void write_presence_field(const presence::ThingChange& change);
  void log(runtime::LogLevel level, const std::string& line);

  const PluginConfig& config_;
  runtime::Pipeline& pipeline_;
  runtime::BrokerOutput& out_;
  std::optional<presence::PresenceTracker> tracker_;  // when connections are tracked
  runtime::Wakeup* wakeup_;
  std::vector<CatchUp> catch_ups_;
  // Presence writes waiting (see the file comment), oldest first.
  std::deque<std::string> write_order_;
  std::unordered_map<std::string, presence::ThingChange> write_pending_;
  std::unordered_map<std::string, bool> written_;  // the state last written per thing
  // CONNECTs with a username seen in this pass, to explain a refusal.
  std::unordered_set<const void*> with_username_;
  bool warned_refused_username_ = false;
  runtime::LogBudget log_budget_{10};
};

}  // namespace shadow::plugin
