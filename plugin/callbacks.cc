#include "plugin/callbacks.h"

#include <string>

namespace shadow::plugin {

const char* event_name(int event) {
  switch (event) {
    case MOSQ_EVT_RELOAD: return "RELOAD";
    case MOSQ_EVT_ACL_CHECK: return "ACL_CHECK";
    case MOSQ_EVT_BASIC_AUTH: return "BASIC_AUTH";
    case MOSQ_EVT_MESSAGE: return "MESSAGE";
    case MOSQ_EVT_TICK: return "TICK";
    case MOSQ_EVT_DISCONNECT: return "DISCONNECT";
    default: return "broker";
  }
}

Callbacks::~Callbacks() {
  for (auto it = registered_.rbegin(); it != registered_.rend(); ++it)
    mosquitto_callback_unregister(id_, it->event, it->callback, nullptr);
}

Status Callbacks::add(int event, MOSQ_FUNC_generic_callback callback, void* userdata) {
  int rc = mosquitto_callback_register(id_, event, callback, nullptr, userdata);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::internal(std::string("cannot register the ") + event_name(event) +
                            " callback (broker error " + std::to_string(rc) + ")");
  }
  registered_.push_back({event, callback});
  return Status::ok();
}

}  // namespace shadow::plugin
