// The fields a fleet query can name (docs/fleet.md#fields), and where their
// values are in a thing. Pure code.
//
//   thingName
//   shadow.desired.<path>  shadow.reported.<path>  shadow.delta.<path>
//   shadow.metadata.<path>  shadow.hasDelta  shadow.version
//   shadow.name.<shadow>.<any of the shadow.* fields above, without "shadow.">
//   connectivity.connected  connectivity.timestamp  connectivity.disconnectReason
//
// A <path> is dot-separated: shadow.reported.stats.battery is the member
// "battery" of the member "stats" of the reported state, and also a member
// literally called "stats.battery" (AWS indexes both the same way).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "plugin/fleet/query/thing_view.h"

namespace shadow::fleet {

enum class FieldKind {
  kAny,             // a term without a field: the thing name and every state value
  kThingName,
  kState,           // shadow.desired / reported / delta / metadata (.path)
  kHasDelta,
  kShadowVersion,   // shadow.version: a managed field on AWS too
  kConnected,
  kConnectedAt,     // connectivity.timestamp, milliseconds
  kDisconnectReason,
};

enum class Section { kDesired, kReported, kDelta, kMetadata };

struct Field {
  FieldKind kind = FieldKind::kAny;
  std::string shadow;             // the named shadow; empty: the classic shadow
  Section section = Section::kReported;
  std::vector<std::string> path;  // below the section; empty: the section itself
  std::string name;               // as written in the query
};

// The field `name` names, or nullopt with *error saying why it is not one:
// an AWS field that needs a thing registry (attributes, thingTypeName,
// thingGroupNames, thingId, ...), or a name that is no field at all.
std::optional<Field> parse_field(std::string_view name, std::string* error);

// Appends to *out the values `field` has in `shadow` (kState fields only):
// more than one when both a nested path and a dotted member name exist.
// Null values are not values (AWS does not index them).
void state_values(const Field& field, const ShadowFields& shadow, std::vector<const rapidjson::Value*>* out);

}  // namespace shadow::fleet
