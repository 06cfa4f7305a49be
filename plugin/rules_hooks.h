// Mosquitto's side of the rules engine (docs/rules.md): feeds the engine
// every message the broker carries and executes the republish jobs it
// returns, on the broker thread.
//
// Inputs:
// - Client publishes: MOSQ_EVT_MESSAGE, registered after the shadow
//   pipeline's and the reply guard's callbacks, so a publish the guard
//   refuses reaches no rule, and the request's answer is already queued.
// - The service's own messages (replies, events, REST Publish and other
//   REST-caused messages): MqttAdapter's PublishObserver. They are noted
//   there (possibly under a shadow lock) and run through the rules only
//   after the pipeline call returned: at the end of the MESSAGE callback and
//   on TICK.
// - Last Will messages: see will_checked() below.
//
// A republish job publishes its message (with its MQTT 5 properties); when
// the topic is a shadow request topic the message then goes through the
// request pipeline exactly as a device's request would (version, accepted,
// delta, documents). The republished message and everything the service
// answers to it carry the job's loop-guard trail (plugin/rules/engine/
// loop_guard.h), so they never run the rules that caused them.
//
// Broker thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "plugin/acl_check.h"
#include "plugin/mqtt_adapter.h"
#include "plugin/rules/engine/engine.h"
#include "plugin/runtime/pipeline.h"

struct mosquitto;

namespace shadow::plugin {

class RulesHooks final : public PublishObserver, public AccessObserver {
 public:
  // Every reference must outlive the object; `wakeup` may be null.
  RulesHooks(rules::RulesEngine& engine, runtime::Pipeline& pipeline, MqttAdapter& adapter,
             runtime::Wakeup* wakeup);

  // MOSQ_EVT_MESSAGE: a client's publish. Always MOSQ_ERR_SUCCESS; fail-open.
  int on_message(int event, void* event_data);
  // MOSQ_EVT_TICK, after the adapter's. Always MOSQ_ERR_SUCCESS; fail-open.
  int on_tick(int event, void* event_data);
  // MOSQ_EVT_DISCONNECT: remembered for the Will check that follows.
  int on_disconnect(int event, void* event_data);

  // PublishObserver: the service published `message`.
  void published(const OutMessage& message) override;
  // AccessObserver (the plugin's ACL check): see will_checked().
  void observe(const mosquitto_evt_acl_check& event, int answer) override;

  // Most messages and republishes handled per callback; the rest wait for
  // the next loop pass (the loop is woken for them).
  static constexpr size_t kBudget = 1000;

 private:
  struct Pending {
    std::string topic;
    std::string payload;
    uint64_t trail = 0;
    std::string client_id = "n/a";
    std::string principal;
  };
  // A Last Will the broker is about to send, or not.
  bool will_checked(const mosquitto_evt_acl_check& event, int answer);
  void run_pending();
  void execute(rules::RepublishJob job);

  rules::RulesEngine& engine_;
  runtime::Pipeline& pipeline_;
  MqttAdapter& adapter_;
  runtime::Wakeup* wakeup_;
  std::deque<Pending> pending_;
  // The client whose DISCONNECT came last (and its id), until the next
  // broker event.
  const mosquitto* disconnected_ = nullptr;
  std::string disconnected_id_;
  bool running_ = false;  // run_pending() is on the stack
};

}  // namespace shadow::plugin
