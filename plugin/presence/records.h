// What presence keeps in the store, and the read API other features use.
//
// Records are Store items (store/store.h) in space "presence", so they share
// the shadows' durability and survive a restart:
//
//   client/<clientId>  {"version":N,"connected":B,"timestamp":MS,"session":"..",
//                       "principal":"..","thing":".."}
//                      the client's last connection: its versionNumber (the
//                      next connection gets N+1), whether it is connected and
//                      since when (ms), and what its events carried ("thing"
//                      absent when the client is no thing's).
//   live/<clientId>    "" while the client is connected: the index the next
//                      start-up reads to report those clients disconnected
//                      (a broker that stops sends no disconnect events).
//   thing/<thingName>  {"connected":B,"timestamp":MS}: the thing's
//                      connectivity (connected while any client bound to it
//                      is), and the time of its last change, in ms.
//
// The read functions below may be called from any thread (the store is
// thread-safe) and read what the broker thread last wrote. Fleet search
// reads `connectivity.connected` through them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace shadow::presence {

inline constexpr std::string_view kSpace = "presence";

// A thing's connectivity: connected while a client bound to it is
// connected; timestamp_ms is when that last changed (ms since the epoch).
struct Connectivity {
  bool connected = false;
  int64_t timestamp_ms = 0;
  bool operator==(const Connectivity&) const = default;
};

// The connectivity of `thing`; nullopt when no client of it was ever seen
// (with presence on). Any thread.
StatusOr<std::optional<Connectivity>> read_connectivity(Store& store, std::string_view thing);

// Every thing's connectivity in thing-name byte order, `limit` at a time,
// starting after `after` (empty: from the first); *more says whether more
// follow. Any thread.
Status list_connectivity(Store& store, std::string_view after, size_t limit,
                         std::vector<std::pair<std::string, Connectivity>>* out, bool* more);

// A client's last connection (client/<id>).
struct ClientRecord {
  uint64_t version = 0;
  bool connected = false;
  int64_t timestamp_ms = 0;  // of the last connect or disconnect
  std::string session_id;
  std::string principal_id;
  std::optional<std::string> thing;
  bool operator==(const ClientRecord&) const = default;
};

// nullopt when the client was never seen. Any thread.
StatusOr<std::optional<ClientRecord>> read_client(Store& store, std::string_view client_id);

// --- used by the tracker (broker thread) ----------------------------------------

std::string client_key(std::string_view client_id);
std::string live_key(std::string_view client_id);
std::string thing_key(std::string_view thing);
inline constexpr std::string_view kLivePrefix = "live/";

std::string encode(const ClientRecord& record);
std::optional<ClientRecord> decode_client(std::string_view value);
std::string encode(const Connectivity& connectivity);
std::optional<Connectivity> decode_connectivity(std::string_view value);

}  // namespace shadow::presence
