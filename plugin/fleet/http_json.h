// JSON request and response bodies of the fleet routes, in one place.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "plugin/rest/api.h"

namespace shadow::fleet {

// Parses a request body that must be a JSON object (an empty body counts as
// {}). On failure, the 400 InvalidRequestException to answer.
std::optional<rest::HttpResponse> parse_object_body(std::string_view body, rapidjson::Document* doc);

// The member `name` of `object` when it is a string; nullopt when absent.
// *bad is set when it is present with another type (or null).
std::optional<std::string> string_member(const rapidjson::Value& object, const char* name, bool* bad);

rest::HttpResponse json_ok(std::string body);
rest::HttpResponse invalid_request(std::string_view message);

}  // namespace shadow::fleet
