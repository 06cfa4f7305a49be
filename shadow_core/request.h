// Request documents (spec §3): validation of update requests in the spec's
// order, and clientToken extraction for get/delete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shadow_core/config.h"
#include "shadow_core/errors.h"
#include "shadow_core/json.h"

namespace shadow {

// One section of the request's state: absent, null (clear it), or an object.
struct SectionUpdate {
  enum Kind { kAbsent, kNull, kObject } kind = kAbsent;
  const json::Value* object = nullptr;  // kObject only; owned by UpdateRequest::doc
};

struct UpdateRequest {
  json::Document doc;              // owns every value below
  const json::Value* state = nullptr;  // the request's "state" (an object or null)
  bool state_is_null = false;
  SectionUpdate desired;
  SectionUpdate reported;
  std::optional<uint64_t> version;
  std::optional<std::string> client_token;  // set whenever it could be extracted, even on error
};

// Validates an update payload (checks 1-11 of spec §3.2, after the payload
// cap, which the caller applies). On failure returns the error; out->client_token
// is still set when the payload carried a valid one, so it can be echoed.
std::optional<Rejection> parse_update(std::string_view payload, const Config& config, UpdateRequest* out);

// The clientToken of a get/delete payload: a JSON object whose clientToken is
// a string within the limit. Anything else yields nullopt (the payload is ignored).
std::optional<std::string> extract_client_token(std::string_view payload, const Config& config);

}  // namespace shadow
