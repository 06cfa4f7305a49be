#include "plugin/presence/events.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace shadow::presence {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void string_member(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// "clientId","timestamp","eventType","sessionIdentifier","principalIdentifier":
// the members every event starts with.
void head(Writer& w, const Session& s, int64_t timestamp_ms, const char* type) {
  w.StartObject();
  string_member(w, "clientId", s.client_id);
  w.Key("timestamp");
  w.Int64(timestamp_ms);
  string_member(w, "eventType", type);
  string_member(w, "sessionIdentifier", s.session_id);
  string_member(w, "principalIdentifier", s.principal_id);
}

std::string topic(std::string_view prefix, std::string_view client_id) {
  std::string t(prefix);
  t.append(client_id);
  return t;
}

}  // namespace

const char* reason_name(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::kDuplicateClientId: return "DUPLICATE_CLIENTID";
    case DisconnectReason::kConnectionLost: return "CONNECTION_LOST";
    case DisconnectReason::kServerInitiated: return "SERVER_INITIATED_DISCONNECT";
  }
  return "SERVER_ERROR";
}

bool has_lifecycle_events(std::string_view client_id) {
  return !client_id.empty() && client_id.find_first_of("#+") == std::string_view::npos;
}

std::string connected_topic(std::string_view client_id) {
  return topic("$aws/events/presence/connected/", client_id);
}

std::string disconnected_topic(std::string_view client_id) {
  return topic("$aws/events/presence/disconnected/", client_id);
}

std::string subscription_topic(bool subscribed, std::string_view client_id) {
  return topic(subscribed ? "$aws/events/subscriptions/subscribed/" : "$aws/events/subscriptions/unsubscribed/",
               client_id);
}

std::string connected_event(const Session& s, int64_t timestamp_ms) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  head(w, s, timestamp_ms, "connected");
  string_member(w, "ipAddress", s.ip_address);
  w.Key("versionNumber");
  w.Uint64(s.version);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string disconnected_event(const Session& s, int64_t timestamp_ms, std::optional<DisconnectReason> reason) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  head(w, s, timestamp_ms, "disconnected");
  if (reason) {
    w.Key("clientInitiatedDisconnect");
    w.Bool(false);  // every reason we can know is the broker's or the network's doing
    string_member(w, "disconnectReason", reason_name(*reason));
  }
  w.Key("versionNumber");
  w.Uint64(s.version);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string subscription_event(const Session& s, bool subscribed, int64_t timestamp_ms,
                               const std::vector<std::string>& topics) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  head(w, s, timestamp_ms, subscribed ? "subscribed" : "unsubscribed");
  w.Key("topics");
  w.StartArray();
  for (const std::string& t : topics) w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace shadow::presence
