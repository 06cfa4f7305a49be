// Fleet search's connectivity.* fields from the presence records: the
// connectivity of each thing that presence keeps (plugin/presence/records.h)
// as fleet search reads it (plugin/fleet/connectivity.h). Given to the
// search only when presence tracks connections (lifecycle events or the
// presence field); without it connectivity.* is absent (docs/fleet.md).
//
// Any thread: the records are read from the store, which is thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "plugin/fleet/connectivity.h"
#include "store/store.h"

namespace shadow::plugin {

class PresenceConnectivity final : public fleet::ConnectivitySource {
 public:
  // `store` must outlive the object.
  explicit PresenceConnectivity(Store& store) : store_(store) {}

  // nullopt for a thing presence never saw, and when the record cannot be
  // read (the field is then absent rather than wrong). disconnectReason is
  // left empty: a thing's record keeps only whether and since when it is
  // connected.
  std::optional<fleet::Connectivity> connectivity(std::string_view thing) override;

 private:
  Store& store_;
};

}  // namespace shadow::plugin
