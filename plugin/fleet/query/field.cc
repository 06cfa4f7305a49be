#include "plugin/fleet/query/field.h"

namespace shadow::fleet {
namespace {

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    parts.emplace_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

bool starts_with_any(std::string_view name, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes)
    if (name == p || (name.starts_with(p) && name[p.size()] == '.')) return true;
  return false;
}

// The shadow.* fields below "shadow." (or "shadow.name.<x>."): parts[i..].
std::optional<Field> shadow_field(Field field, const std::vector<std::string>& parts, size_t i, std::string* error) {
  if (i >= parts.size()) {
    *error = "field '" + field.name + "' names a shadow but no part of it (e.g. " + field.name + ".reported.temp)";
    return std::nullopt;
  }
  const std::string& part = parts[i];
  if (part == "hasDelta" || part == "version") {
    if (i + 1 != parts.size()) {
      *error = "field '" + field.name + "': " + part + " has no members";
      return std::nullopt;
    }
    field.kind = part == "hasDelta" ? FieldKind::kHasDelta : FieldKind::kShadowVersion;
    return field;
  }
  if (part == "desired") field.section = Section::kDesired;
  else if (part == "reported") field.section = Section::kReported;
  else if (part == "delta") field.section = Section::kDelta;
  else if (part == "metadata") field.section = Section::kMetadata;
  else {
    *error = "field '" + field.name + "' is not a shadow field: after '" +
             (field.shadow.empty() ? std::string("shadow.") : "shadow.name." + field.shadow + ".") +
             "' comes desired, reported, delta, metadata, hasDelta or version";
    return std::nullopt;
  }
  field.kind = FieldKind::kState;
  for (size_t j = i + 1; j < parts.size(); ++j) {
    if (parts[j].empty()) {
      *error = "field '" + field.name + "' has an empty part between dots";
      return std::nullopt;
    }
    field.path.push_back(parts[j]);
  }
  return field;
}

// Collects the values at path[i..] below `value`, trying every split of the
// remaining parts into one dotted member name and a nested rest.
void collect(const rapidjson::Value& value, const std::vector<std::string>& path, size_t i,
             std::vector<const rapidjson::Value*>* out) {
  if (i == path.size()) {
    if (!value.IsNull()) out->push_back(&value);
    return;
  }
  if (!value.IsObject()) return;
  std::string key;
  for (size_t j = i; j < path.size(); ++j) {
    if (j > i) key += '.';
    key += path[j];
    auto m = value.FindMember(rapidjson::StringRef(key.data(), key.size()));
    if (m != value.MemberEnd()) collect(m->value, path, j + 1, out);
  }
}

}  // namespace

std::optional<Field> parse_field(std::string_view name, std::string* error) {
  Field field;
  field.name = std::string(name);
  if (name == "thingName") {
    field.kind = FieldKind::kThingName;
    return field;
  }
  if (name == "connectivity.connected") {
    field.kind = FieldKind::kConnected;
    return field;
  }
  if (name == "connectivity.timestamp") {
    field.kind = FieldKind::kConnectedAt;
    return field;
  }
  if (name == "connectivity.disconnectReason") {
    field.kind = FieldKind::kDisconnectReason;
    return field;
  }
  if (starts_with_any(name, {"thingId", "thingTypeName", "thingGroupNames", "attributes", "registry",
                             "thingGroupName", "parentGroupNames", "thingGroupId", "description"})) {
    *error = "field '" + field.name +
             "' is not available: mosquitto-shadow has no thing registry (attributes, thing types, "
             "thing groups, thing ids); search thingName, shadow.* and connectivity.* fields";
    return std::nullopt;
  }
  if (starts_with_any(name, {"deviceDefender"})) {
    *error = "field '" + field.name + "' is not available: mosquitto-shadow has no Device Defender data";
    return std::nullopt;
  }
  if (starts_with_any(name, {"connectivity"})) {
    *error = "field '" + field.name +
             "' is not a connectivity field: use connectivity.connected, connectivity.timestamp or "
             "connectivity.disconnectReason";
    return std::nullopt;
  }
  if (!starts_with_any(name, {"shadow"})) {
    *error = "unknown field '" + field.name +
             "': fields are thingName, shadow.desired.*, shadow.reported.*, shadow.delta.*, "
             "shadow.metadata.*, shadow.hasDelta, shadow.version, shadow.name.<shadow>.* and connectivity.*";
    return std::nullopt;
  }
  std::vector<std::string> parts = split(name);
  if (parts.size() >= 2 && parts[1] == "name") {
    if (parts.size() < 3 || parts[2].empty()) {
      *error = "field '" + field.name + "' needs a shadow name after shadow.name. (e.g. shadow.name.config.reported.x)";
      return std::nullopt;
    }
    field.shadow = parts[2];
    return shadow_field(std::move(field), parts, 3, error);
  }
  return shadow_field(std::move(field), parts, 1, error);
}

void state_values(const Field& field, const ShadowFields& shadow, std::vector<const rapidjson::Value*>* out) {
  const rapidjson::Value* root = nullptr;
  switch (field.section) {
    case Section::kDesired: root = shadow.desired; break;
    case Section::kReported: root = shadow.reported; break;
    case Section::kDelta: root = shadow.delta; break;
    case Section::kMetadata: root = shadow.metadata; break;
  }
  if (root != nullptr) collect(*root, field.path, 0, out);
}

}  // namespace shadow::fleet
