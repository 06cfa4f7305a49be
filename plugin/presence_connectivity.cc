#include "plugin/presence_connectivity.h"

#include "plugin/presence/records.h"

namespace shadow::plugin {

std::optional<fleet::Connectivity> PresenceConnectivity::connectivity(std::string_view thing) {
  StatusOr<std::optional<presence::Connectivity>> read = presence::read_connectivity(store_, thing);
  if (!read.ok() || !read.value()) return std::nullopt;
  fleet::Connectivity c;
  c.connected = read.value()->connected;
  c.timestamp_ms = read.value()->timestamp_ms;
  return c;
}

}  // namespace shadow::plugin
