// The stored shadow document: desired and reported state with
// their metadata trees, and the version. Serialized as the snapshot
// {"state":{...},"metadata":{...},"version":N}, which is also exactly what
// /update/documents carries as "previous"/"current".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shadow_core/json.h"
#include "shadow_core/request.h"

namespace shadow {

class ShadowDocument {
 public:
  ShadowDocument();

  // Loads a stored snapshot (copied: strings are parsed in place in the
  // copy). False when it is not a valid snapshot.
  bool load(std::string_view snapshot);

  // Applies a validated update (docs/mqtt-api.md#update-request), stamping every
  // written leaf with `now`. Does not touch the version.
  void apply(const UpdateRequest& request, int64_t now);

  uint64_t version() const { return version_; }
  void set_version(uint64_t v) { version_ = v; }

  // nullptr when the section is absent (never an empty object).
  const json::Value* desired() const { return desired_.IsObject() ? &desired_ : nullptr; }
  const json::Value* reported() const { return reported_.IsObject() ? &reported_ : nullptr; }
  const json::Value* desired_metadata() const { return desired_.IsObject() ? &meta_desired_ : nullptr; }
  const json::Value* reported_metadata() const { return reported_.IsObject() ? &meta_reported_ : nullptr; }

  // Bytes counted against the document size limit (docs/mqtt-api.md#limits):
  // compact(desired) + compact(reported). responses::snapshot() reports the
  // same figure while it serializes; this is for callers without a snapshot.
  size_t state_size() const;

  json::Allocator& allocator() { return pool_; }

 private:
  std::string text_;      // the loaded snapshot; parsed strings point into it
  json::Allocator pool_;  // owns every value below
  json::Document doc_;
  json::Value desired_, reported_, meta_desired_, meta_reported_;
  uint64_t version_ = 0;
};

// The metadata of `value` as written at `now`: {"timestamp":now} for every
// scalar and null, objects and arrays mirrored. Used both for stored
// metadata (where no nulls remain) and for the update/accepted echo.
json::Value metadata_of(const json::Value& value, int64_t now, json::Allocator& alloc);

}  // namespace shadow
