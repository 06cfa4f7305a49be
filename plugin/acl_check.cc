#include "plugin/acl_check.h"

#include <exception>
#include <optional>
#include <string>

#include <openssl/asn1.h>
#include <openssl/x509.h>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h, and
// mosquitto_plugin.h needs mosquitto_plugin_id_t from mosquitto_broker.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>  // MOSQ_ACL_*

namespace shadow::plugin {
namespace {

// The subject CN of the client's certificate, or nullopt (no certificate,
// no CN, more than one CN, or a CN with a NUL byte: none of them names one
// thing unambiguously). mosquitto_client_certificate() returns a new
// reference only when the listener has require_certificate true.
std::optional<std::string> certificate_cn(mosquitto* client) {
  X509* cert = static_cast<X509*>(mosquitto_client_certificate(client));
  if (cert == nullptr) return std::nullopt;
  std::optional<std::string> cn;
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, index) < 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int len = data ? ASN1_STRING_to_UTF8(&utf8, data) : -1;
    if (len > 0) {
      std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
      if (value.find('\0') == std::string::npos) cn = std::move(value);
    }
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return cn;
}

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

Principal AclCheck::principal_of(mosquitto* client) const {
  ClientFacts facts;
  if (const char* id = mosquitto_client_id(client)) facts.client_id = id;
  if (const char* user = mosquitto_client_username(client)) facts.username = user;
  std::optional<std::string> cn;
  if (config_.identity == IdentitySource::kCertCn) {
    cn = certificate_cn(client);
    if (cn) facts.cert_cn = *cn;
  }
  return resolve_principal(config_, facts);
}

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
  int answer = decide_access(*ev);
  if (write_observer_ != nullptr && ev->access == MOSQ_ACL_WRITE) write_observer_->write_checked(*ev, answer);
  return answer;
}

int AclCheck::decide_access(const mosquitto_evt_acl_check& event) {
  const mosquitto_evt_acl_check* ev = &event;
  const int fallback =
      config_.fallback == AclFallback::kAllow ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
  if (ev->topic == nullptr || !may_touch_shadow_namespace(ev->topic, short_topics_)) {
    return fallback;
  }
  Access access = access_of(ev->access);
  Principal principal;
  if (config_.binding()) principal = principal_of(ev->client);
  Decision d = decide(config_, principal, access, ev->topic, short_topics_);
  if (d == Decision::kAllow) return MOSQ_ERR_SUCCESS;
  if (d == Decision::kNoObjection) return fallback;

  bool reserved = access == Access::kWrite && is_reserved_topic(ev->topic, short_topics_);
  const char* why = reserved ? "only the shadow service publishes responses and events"
                             : "the topic belongs to another thing's shadow";
  switch (access) {
    case Access::kWrite:
      metrics_.count_acl_denied(runtime::Metrics::AclKind::kPublish);
      log_denied("publish to", ev->client, ev->topic, why);
      break;
    case Access::kSubscribe:
      metrics_.count_acl_denied(runtime::Metrics::AclKind::kSubscribe);
      log_denied("subscription to", ev->client, ev->topic,
                 "the filter can match another thing's shadow topics");
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
  if (ev->topic == nullptr || !is_reserved_topic(ev->topic, short_topics_)) {
    return MOSQ_ERR_SUCCESS;
  }
  metrics_.count_acl_denied(runtime::Metrics::AclKind::kPublish);
  log_denied("publish to", ev->client, ev->topic,
             "only the shadow service publishes responses and events");
  return MOSQ_ERR_ACL_DENIED;
}

}  // namespace shadow::plugin
