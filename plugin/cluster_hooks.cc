#include "plugin/cluster_hooks.h"

#include <exception>
#include <string>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h, and
// mosquitto_plugin.h needs mosquitto_plugin_id_t from mosquitto_broker.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>  // MOSQ_ACL_*

#include "plugin/cluster/cluster_events.h"

namespace shadow::plugin {

int ClusterHooks::on_acl_check(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_acl_check*>(event_data);
  if (ev->topic == nullptr || (ev->access != MOSQ_ACL_SUBSCRIBE && ev->access != MOSQ_ACL_UNSUBSCRIBE)) {
    return MOSQ_ERR_PLUGIN_DEFER;
  }
  const char* id = mosquitto_client_id(ev->client);
  if (id == nullptr) return MOSQ_ERR_PLUGIN_DEFER;
  // Whatever happens here, the access decision is the next callback's: an
  // error must neither grant nor deny anything.
  try {
    if (ev->access == MOSQ_ACL_SUBSCRIBE) {
      events_.subscribed(id, ev->topic);
    } else {
      events_.unsubscribed(id, ev->topic);
    }
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cluster interest tracking failed: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cluster interest tracking failed");
  }
  return MOSQ_ERR_PLUGIN_DEFER;
}

int ClusterHooks::on_disconnect(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_disconnect*>(event_data);
  const char* id = ev->client ? mosquitto_client_id(ev->client) : nullptr;
  if (id == nullptr) return MOSQ_ERR_SUCCESS;
  events_.disconnected(id, mosquitto_client_clean_session(ev->client));
  return MOSQ_ERR_SUCCESS;
}

}  // namespace shadow::plugin
