// Builders of every document the service emits
// (docs/mqtt-api.md#response-documents). The key order AWS uses lives here
// and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shadow_core/delta.h"
#include "shadow_core/document.h"
#include "shadow_core/errors.h"
#include "shadow_core/json.h"
#include "store/store.h"

namespace shadow::responses {

using Token = std::optional<std::string>;

// {"state":{desired?,reported?},"metadata":{desired?,reported?},"version":N}
// When `state_bytes` is given it receives compact(desired) + compact(reported),
// the figure the document size limit applies to, measured while writing.
std::string snapshot(const ShadowDocument& doc, size_t* state_bytes = nullptr);

// update/accepted: the request's state echoed with request-shaped metadata.
std::string update_accepted(const json::Value& request_state, const json::Value& metadata, uint64_t version,
                            int64_t now, const Token& token);

// update/documents. `previous` is a stored snapshot, or nullptr on create.
std::string documents(const std::string* previous, bool previous_as_null, const std::string& current,
                      int64_t now, const Token& token);

// update/delta.
std::string delta(const Delta& delta, uint64_t version, int64_t now, const Token& token);

// get/accepted: state with delta when non-empty, metadata without delta.
std::string get_accepted(const ShadowDocument& doc, const Delta& delta, int64_t now, const Token& token);

// delete/accepted.
std::string delete_accepted(uint64_t version, int64_t now, const Token& token);

// Error document {"code","message"[,"timestamp"][,"clientToken"]}.
std::string error(const Rejection& error, const std::optional<int64_t>& timestamp, const Token& token);

// ListNamedShadowsForThing result.
std::string named_shadow_list(const std::vector<std::string>& names, const std::optional<std::string>& next_token,
                              int64_t now);

// ListShadows result (a mosquitto-shadow extension):
// {"results":[{"thingName":T[,"shadowName":S]},...][,"nextToken":..],"timestamp":N};
// shadowName is absent for a classic shadow.
std::string shadow_list(const std::vector<StoreKey>& keys, const std::optional<std::string>& next_token,
                        int64_t now);

}  // namespace shadow::responses
