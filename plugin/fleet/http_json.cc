#include "plugin/fleet/http_json.h"

#include "shadow_core/json.h"

namespace shadow::fleet {

std::optional<rest::HttpResponse> parse_object_body(std::string_view body, rapidjson::Document* doc) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    doc->SetObject();
    return std::nullopt;
  }
  if (!json::parse(body, doc) || !doc->IsObject()) return invalid_request("The request body must be a JSON object");
  return std::nullopt;
}

std::optional<std::string> string_member(const rapidjson::Value& object, const char* name, bool* bad) {
  auto m = object.FindMember(name);
  if (m == object.MemberEnd()) return std::nullopt;
  if (!m->value.IsString()) {
    *bad = true;
    return std::nullopt;
  }
  return std::string(m->value.GetString(), m->value.GetStringLength());
}

rest::HttpResponse json_ok(std::string body) {
  rest::HttpResponse r;
  r.body = std::move(body);
  return r;
}

rest::HttpResponse invalid_request(std::string_view message) {
  return rest::control_plane_error(400, "InvalidRequestException", message);
}

}  // namespace shadow::fleet
