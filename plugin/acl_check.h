// Mosquitto's side of per-device authorization: the MOSQ_EVT_ACL_CHECK
// callback and a MOSQ_EVT_MESSAGE guard, both answering from the pure rules
// in authorization.h with what the broker knows about the client (client id,
// username, certificate CN).
//
// The guard refuses client publishes to response and event topics whether or
// not the ACL callback is registered, so spoofed replies are never routed.
// The ACL callback is registered only when AuthzConfig::acl_check_wanted():
// once it is, every access it has no objection to must be answered with the
// fallback, because a deferring ACL plugin without an acl_file is deny-all
// (docs/security.md).
//
// Runs on the broker thread only.
#pragma once

#include <chrono>
#include <vector>

#include "plugin/authz/authorization.h"
#include "plugin/runtime/metrics.h"
#include "plugin/runtime/rate_limiter.h"

struct mosquitto;
struct mosquitto_evt_acl_check;

namespace shadow::plugin {

// Told about every ACL check of a write, subscription or unsubscription
// with a topic, with the plugin's answer: MOSQ_ERR_SUCCESS (the plugin
// allowed it), MOSQ_ERR_ACL_DENIED, or MOSQ_ERR_PLUGIN_DEFER (left to the
// acl_file). Presence sees clients through it (presence_hooks.h); the rules
// engine sees Last Wills, which the broker checks as a write just before it
// sends them (rules_hooks.h).
class AccessObserver {
 public:
  virtual ~AccessObserver() = default;
  virtual void observe(const mosquitto_evt_acl_check& event, int answer) = 0;
};

class AclCheck {
 public:
  // `config` and `metrics` must outlive the object.
  AclCheck(const AuthzConfig& config, bool short_topics, runtime::Metrics& metrics);

  // Adds an observer, which must outlive the object. Before the broker runs.
  void add_observer(AccessObserver* observer) { observers_.push_back(observer); }

  // MOSQ_EVT_ACL_CHECK. Returns MOSQ_ERR_SUCCESS, MOSQ_ERR_ACL_DENIED or
  // MOSQ_ERR_PLUGIN_DEFER. Register it fail-closed (callbacks.h).
  int on_acl_check(int event, void* event_data);
  // MOSQ_EVT_MESSAGE; MOSQ_ERR_ACL_DENIED for a publish to a topic only the
  // plugin publishes (a reserved shadow topic; with lifecycle events, an
  // event topic): not routed, not retained, v5 publishers get 0x87. Else
  // MOSQ_ERR_SUCCESS.
  // Register it fail-closed.
  int on_message(int event, void* event_data);

 private:
  int check(mosquitto* client, int mosq_access, const char* topic);
  void log_denied(const char* what, mosquitto* client, const char* topic, const char* why);

  const AuthzConfig& config_;
  const bool short_topics_;
  runtime::Metrics& metrics_;
  std::vector<AccessObserver*> observers_;
  runtime::LogBudget log_budget_{10};  // denial lines per second
};

}  // namespace shadow::plugin
