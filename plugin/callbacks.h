// How the plugin hooks into the broker: every callback it registers goes
// through guard(), and Callbacks remembers the registrations so that cleanup
// (or a failed start-up) undoes them in reverse order.
//
// guard() exists because nothing may unwind into the broker's C code: the
// service does not throw, but allocation can. What a callback answers when
// it fails anyway is chosen per callback, explicitly, at registration:
// - kFailOpen: MOSQ_ERR_SUCCESS, the broker goes on as if the plugin had no
//   objection. For the shadow service itself (a failed request must not cost
//   the client its message) and for TICK.
// - kFailClosed: MOSQ_ERR_ACL_DENIED. For access checks, where an error must
//   never grant access.
// - kDefer: MOSQ_ERR_PLUGIN_DEFER, the decision is left to the broker's other
//   sources. For observers of the username/password check, which must
//   neither admit nor refuse a client.
//
// Broker thread only.
#pragma once

#include <mosquitto.h>
#include <mosquitto_broker.h>

#include <exception>
#include <vector>

#include "common/status.h"

namespace shadow::plugin {

enum class OnFailure { kFailOpen, kFailClosed, kDefer };

// "MESSAGE", "TICK", ...: for log lines.
const char* event_name(int event);

template <typename Handler, int (Handler::*Method)(int event, void* event_data), OnFailure kOnFailure>
int guard(int event, void* event_data, void* userdata) noexcept {
  try {
    return (static_cast<Handler*>(userdata)->*Method)(event, event_data);
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: %s callback failed: %s", event_name(event), e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: %s callback failed", event_name(event));
  }
  switch (kOnFailure) {
    case OnFailure::kFailOpen: return MOSQ_ERR_SUCCESS;
    case OnFailure::kFailClosed: return MOSQ_ERR_ACL_DENIED;
    case OnFailure::kDefer: return MOSQ_ERR_PLUGIN_DEFER;
  }
  return MOSQ_ERR_ACL_DENIED;
}

class Callbacks {
 public:
  explicit Callbacks(mosquitto_plugin_id_t* id) : id_(id) {}
  // Unregisters everything, last registered first.
  ~Callbacks();
  Callbacks(const Callbacks&) = delete;
  Callbacks& operator=(const Callbacks&) = delete;

  // Registers `callback` (a guard<...> instance) for `event`.
  Status add(int event, MOSQ_FUNC_generic_callback callback, void* userdata);

 private:
  struct Registered {
    int event;
    MOSQ_FUNC_generic_callback callback;
  };
  mosquitto_plugin_id_t* id_;
  std::vector<Registered> registered_;
};

}  // namespace shadow::plugin
