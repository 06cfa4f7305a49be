// Where fleet search gets the connectivity.* fields: the presence feature
// (MQTT lifecycle events) implements this and the glue hands it to the
// search. Without it, connectivity.* fields are absent from every thing: a
// query on them matches nothing (NOT connectivity.connected:true matches
// every thing) and results have no "connectivity" member.
#pragma once

#include <optional>
#include <string_view>

#include "plugin/fleet/query/thing_view.h"

namespace shadow::fleet {

class ConnectivitySource {
 public:
  virtual ~ConnectivitySource() = default;
  // The last known connection state of `thing`'s device; nullopt when it
  // was never seen. Called from HTTP worker threads, concurrently.
  virtual std::optional<Connectivity> connectivity(std::string_view thing) = 0;
};

}  // namespace shadow::fleet
