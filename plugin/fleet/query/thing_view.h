// What a fleet query sees of one thing: its name, its shadows and, when the
// presence feature provides it, its connectivity. The search supplies a
// ThingView over stored documents; tests supply their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace shadow::fleet {

// The searchable parts of one shadow. Every pointer may be null: the section
// is absent (a shadow without desired state has no desired, a shadow whose
// reported state matches its desired state has no delta).
struct ShadowFields {
  const rapidjson::Value* desired = nullptr;
  const rapidjson::Value* reported = nullptr;
  const rapidjson::Value* delta = nullptr;     // non-empty delta only
  const rapidjson::Value* metadata = nullptr;  // {"desired":{...},"reported":{...}}
  uint64_t version = 0;
};

// The last known connection state of a thing's device, from the presence
// feature (MQTT lifecycle events).
struct Connectivity {
  bool connected = false;
  int64_t timestamp_ms = 0;        // of the last connect or disconnect
  std::string disconnect_reason;   // empty while connected or when unknown
};

class ThingView {
 public:
  virtual ~ThingView() = default;
  virtual std::string_view name() const = 0;
  // The classic shadow (`shadow` empty) or a named shadow; nullptr when the
  // thing has no such shadow. The result stays valid while the view lives.
  virtual const ShadowFields* shadow(std::string_view shadow) = 0;
  // The names of the thing's named shadows (for terms without a field,
  // which search every shadow).
  virtual std::vector<std::string> named_shadows() = 0;
  // nullptr when unknown: without the presence feature, or for a thing
  // whose device was never seen.
  virtual const Connectivity* connectivity() = 0;
};

}  // namespace shadow::fleet
