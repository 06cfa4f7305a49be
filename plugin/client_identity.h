// What Mosquitto tells a plugin about a client, read in one place for the
// ACL check (acl_check.h) and presence (presence_hooks.h).
//
// Broker thread only (the mosquitto_client_* functions are not
// thread-safe).
#pragma once

#include <optional>
#include <string>

#include "plugin/authz/authorization.h"

struct mosquitto;

namespace shadow::plugin {

// The subject CN of the client's certificate, or nullopt (no certificate,
// no CN, more than one CN, or a CN with a NUL byte: none of them names one
// thing unambiguously). Certificates are only available on listeners with
// require_certificate true.
std::optional<std::string> certificate_cn(mosquitto* client);

// The SHA-256 fingerprint of the client's certificate in lowercase hex (the
// form of an AWS IoT certificate id), or nullopt without a certificate.
std::optional<std::string> certificate_sha256(mosquitto* client);

// The client's principal for the authorization rules: its client id,
// username and, with thing_identity cert_cn, its certificate CN.
Principal principal_of(mosquitto* client, const AuthzConfig& config);

}  // namespace shadow::plugin
