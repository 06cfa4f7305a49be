// The lifecycle event documents, in the format and key order of AWS IoT
// (docs/mqtt-api.md#lifecycle-events): what is published on
// $aws/events/presence/{connected|disconnected}/{clientId} and
// $aws/events/subscriptions/{subscribed|unsubscribed}/{clientId}. The key
// order lives here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadow::presence {

// One connection of a client, as its events describe it. The connected
// and the disconnected event of one connection carry the same values.
struct Session {
  std::string client_id;
  std::string session_id;    // "sessionIdentifier": a random UUID per connection
  std::string principal_id;  // "principalIdentifier" (see presence_hooks.h for what it holds)
  std::string ip_address;    // "ipAddress" (connected events only)
  uint64_t version = 0;      // "versionNumber": increases with each connection of the client id
};

// The disconnect reasons Mosquitto 2.0.11 lets the plugin know. Any other
// disconnect is reported without "clientInitiatedDisconnect" and
// "disconnectReason" (docs/compatibility.md#lifecycle-events).
enum class DisconnectReason {
  kDuplicateClientId,  // DUPLICATE_CLIENTID: the same client id connected again
  kConnectionLost,     // CONNECTION_LOST: the broker published the client's Will
  kServerInitiated,    // SERVER_INITIATED_DISCONNECT: connected when the broker last stopped
};

const char* reason_name(DisconnectReason reason);

// Client ids with '#' or '+' get no lifecycle events (as on AWS): they
// cannot be a topic level.
bool has_lifecycle_events(std::string_view client_id);

// "$aws/events/presence/connected/{clientId}" and the others.
std::string connected_topic(std::string_view client_id);
std::string disconnected_topic(std::string_view client_id);
std::string subscription_topic(bool subscribed, std::string_view client_id);

// {"clientId","timestamp","eventType":"connected","sessionIdentifier",
//  "principalIdentifier","ipAddress","versionNumber"}; timestamp in ms.
std::string connected_event(const Session& session, int64_t timestamp_ms);

// {"clientId","timestamp","eventType":"disconnected","sessionIdentifier",
//  "principalIdentifier"[,"clientInitiatedDisconnect","disconnectReason"],
//  "versionNumber"}.
std::string disconnected_event(const Session& session, int64_t timestamp_ms,
                               std::optional<DisconnectReason> reason);

// {"clientId","timestamp","eventType":"subscribed"|"unsubscribed",
//  "sessionIdentifier","principalIdentifier","topics":[...]}.
std::string subscription_event(const Session& session, bool subscribed, int64_t timestamp_ms,
                               const std::vector<std::string>& topics);

}  // namespace shadow::presence
