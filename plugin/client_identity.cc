#include "plugin/client_identity.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>

namespace shadow::plugin {

std::optional<std::string> certificate_cn(mosquitto* client) {
  // A new reference, only when the listener has require_certificate true.
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

std::optional<std::string> certificate_sha256(mosquitto* client) {
  X509* cert = static_cast<X509*>(mosquitto_client_certificate(client));
  if (cert == nullptr) return std::nullopt;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::optional<std::string> hex;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; i++) {
      out += kDigits[md[i] >> 4];
      out += kDigits[md[i] & 0x0F];
    }
    hex = std::move(out);
  }
  X509_free(cert);
  return hex;
}

Principal principal_of(mosquitto* client, const AuthzConfig& config) {
  ClientFacts facts;
  if (const char* id = mosquitto_client_id(client)) facts.client_id = id;
  if (const char* user = mosquitto_client_username(client)) facts.username = user;
  std::optional<std::string> cn;
  if (config.identity == IdentitySource::kCertCn) {
    cn = certificate_cn(client);
    if (cn) facts.cert_cn = *cn;
  }
  return resolve_principal(config, facts);
}

}  // namespace shadow::plugin
