// Delta computation (docs/mqtt-api.md#delta-event): what desired asks for that reported does not
// show, with the desired metadata of each differing path.
#pragma once

#include "shadow_core/document.h"
#include "shadow_core/json.h"

namespace shadow {

struct Delta {
  json::Value state;     // object; Null when the delta is empty
  json::Value metadata;  // mirrors `state`, taken from the desired metadata
  bool empty() const { return !state.IsObject(); }
};

// Values are allocated from `alloc`, which must outlive the result.
Delta compute_delta(const ShadowDocument& doc, json::Allocator& alloc);

}  // namespace shadow
