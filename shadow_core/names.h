// Thing and shadow name rules (docs/mqtt-api.md#names).
#pragma once

#include <optional>
#include <string_view>

#include "shadow_core/config.h"
#include "shadow_core/errors.h"

namespace shadow {

// nullopt when valid; otherwise a 400 error naming the rule that failed.
std::optional<Rejection> validate_thing_name(std::string_view name, const Config& config);
std::optional<Rejection> validate_shadow_name(std::string_view name, const Config& config);

}  // namespace shadow
