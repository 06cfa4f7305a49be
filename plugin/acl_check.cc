#include "plugin/acl_check.h"

#include <exception>
#include <optional>
#include <string>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h, and
// mosquitto_plugin.h needs mosquitto_plugin_id_t from mosquitto_broker.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>  // MOSQ_ACL_*

#include "plugin/client_identity.h"

namespace shadow::plugin {
namespace {

Access access_of(int mosq_access) {
  switch (mosq_access) {
    case MOSQ_ACL_WRITE: return Access::kWrite;
    case MOSQ_ACL_SUBSCRIBE: return Access::kSubscribe;
    case MOSQ_ACL_UNSUBSCRIBE: return Access::kUnsubscribe;
    default: return Access::kRead;
  }
}

const char* or_dash(const char* s) { return s != nullptr ? s : "-"; }

}  // namespace

AclCheck::AclCheck(const AuthzConfig& config, bool short_topics, runtime::Metrics& metrics)
    : config_(config), short_topics_(short_topics), metrics_(metrics) {}

void AclCheck::log_denied(const char* what, mosquitto* client, const char* topic,
                          const char* why) {
  uint64_t suppressed = 0;
  if (!log_budget_.allow(std::chrono::steady_clock::now(), &suppressed)) return;
  if (suppressed > 0) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "shadow: %llu more denials were not logged",
                         static_cast<unsigned long long>(suppressed));
  }
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "shadow: denied %s '%s' for client '%s' (username '%s'): %s",
                       what, topic, or_dash(mosquitto_client_id(client)),
                       or_dash(mosquitto_client_username(client)), why);
}

int AclCheck::on_acl_check(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_acl_check*>(event_data);
  int result = check(ev->client, ev->access, ev->topic);
  if (ev->access != MOSQ_ACL_READ && ev->topic != nullptr) {
    for (AccessObserver* observer : observers_) observer->observe(*ev, result);
  }
  return result;
}

int AclCheck::check(mosquitto* client, int mosq_access, const char* topic) {
  const int fallback =
      config_.fallback == AclFallback::kAllow ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
  if (topic == nullptr || !may_touch_shadow_namespace(topic, short_topics_)) {
    return fallback;
  }
  Access access = access_of(mosq_access);
  Principal principal;
  if (config_.binding()) principal = principal_of(client, config_);
  Decision d = decide(config_, principal, access, topic, short_topics_);
  if (d == Decision::kAllow) return MOSQ_ERR_SUCCESS;
  if (d == Decision::kNoObjection) return fallback;

  const bool events = config_.lifecycle_events && is_event_topic(topic);
  bool reserved = access == Access::kWrite && is_service_topic(config_, topic, short_topics_);
  const char* why = reserved ? "only the shadow service publishes responses and events"
                    : events ? "the lifecycle events of another client"
                             : "the topic belongs to another thing's shadow";
  switch (access) {
    case Access::kWrite:
      metrics_.count_acl_denied(runtime::Metrics::AclKind::kPublish);
      log_denied("publish to", client, topic, why);
      break;
    case Access::kSubscribe:
      metrics_.count_acl_denied(runtime::Metrics::AclKind::kSubscribe);
      log_denied("subscription to", client, topic,
                 events ? "the filter can match another client's lifecycle events"
                        : "the filter can match another thing's shadow topics");
      break;
    default:
      // Deliveries to a broad filter such as '#': expected, not logged.
      metrics_.count_acl_denied(runtime::Metrics::AclKind::kReceive);
      break;
  }
  return MOSQ_ERR_ACL_DENIED;
}

int AclCheck::on_message(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_message*>(event_data);
  if (ev->topic == nullptr || !is_service_topic(config_, ev->topic, short_topics_)) {
    return MOSQ_ERR_SUCCESS;
  }
  metrics_.count_acl_denied(runtime::Metrics::AclKind::kPublish);
  log_denied("publish to", ev->client, ev->topic,
             "only the shadow service publishes responses and events");
  return MOSQ_ERR_ACL_DENIED;
}

}  // namespace shadow::plugin
