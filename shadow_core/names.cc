#include "shadow_core/names.h"

#include <string>

namespace shadow {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '-';
}

Rejection bad(std::string message) { return Rejection{400, std::move(message)}; }

}  // namespace

std::optional<Rejection> validate_thing_name(std::string_view name, const Config& config) {
  if (name.empty()) return bad("ThingName must have a length of at least 1");
  if (name.size() > config.max_thing_name_bytes)
    return bad("ThingName has a maximum length of " + std::to_string(config.max_thing_name_bytes));
  for (char c : name)
    if (!is_name_char(c)) return bad("ThingName must match pattern [a-zA-Z0-9:_-]+");
  return std::nullopt;
}

std::optional<Rejection> validate_shadow_name(std::string_view name, const Config& config) {
  if (name.empty()) return bad("ShadowName must have a length of at least 1");
  if (name.size() > config.max_shadow_name_bytes)
    return bad("ShadowName has a maximum length of " + std::to_string(config.max_shadow_name_bytes));
  for (char c : name)
    if (!is_name_char(c) && c != '$') return bad("ShadowName must match pattern [$a-zA-Z0-9:_-]+");
  if (config.reserved_shadow_names && name[0] == '$')
    return bad("ShadowName starting with '$' is reserved");
  return std::nullopt;
}

}  // namespace shadow
