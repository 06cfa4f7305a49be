// Request documents (docs/mqtt-api.md#request-documents): validation of
// update requests in the documented order (docs/mqtt-api.md#validation-order),
// and clientToken extraction for get/delete.
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

// Validates an update payload: UTF-8, JSON, the members and their types,
// version, depth and nulls in arrays. The caller checks the payload cap
// before and the names, version conflict and size after. On failure returns the error; out->client_token
// is still set when the payload carried a valid one, so it can be echoed.
std::optional<Rejection> parse_update(std::string_view payload, const Config& config, UpdateRequest* out);

// The clientToken of a get/delete payload: a JSON object whose clientToken is
// a string within the limit. Anything else yields nullopt (the payload is ignored).
std::optional<std::string> extract_client_token(std::string_view payload, const Config& config);

}  // namespace shadow
