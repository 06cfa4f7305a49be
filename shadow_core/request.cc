#include "shadow_core/request.h"

#include <cmath>

namespace shadow {
namespace {

using json::Value;

Rejection bad_request(std::string message) { return Rejection{400, std::move(message)}; }

// A clientToken is usable when it is a string within the byte limit.
std::optional<std::string> usable_token(const Value* token, const Config& config) {
  if (!token || !token->IsString() || token->GetStringLength() > config.max_client_token_bytes)
    return std::nullopt;
  return std::string(json::view(*token));
}

// Depth rule (docs/mqtt-api.md#limits): the section object is level 1; every non-empty
// container inside adds a level; empty containers and scalars do not.
// Stops descending as soon as the limit is exceeded, so recursion is bounded
// by max_depth whatever the input.
bool within_depth(const Value& container, int level, int max_depth) {
  auto check = [&](const Value& child) {
    bool nonempty = (child.IsObject() && child.MemberCount() > 0) || (child.IsArray() && child.Size() > 0);
    if (!nonempty) return true;
    if (level + 1 > max_depth) return false;
    return within_depth(child, level + 1, max_depth);
  };
  if (container.IsObject()) {
    for (auto it = container.MemberBegin(); it != container.MemberEnd(); ++it)
      if (!check(it->value)) return false;
  } else {
    for (const auto& element : container.GetArray())
      if (!check(element)) return false;
  }
  return true;
}

bool has_null_in_array(const Value& v, bool inside_array) {
  if (v.IsNull()) return inside_array;
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
      if (has_null_in_array(it->value, false)) return true;
  } else if (v.IsArray()) {
    for (const auto& element : v.GetArray())
      if (has_null_in_array(element, true)) return true;
  }
  return false;
}

// Version must be a non-negative integer; null counts as absent and an
// integral float (5.0) is accepted (both UNVERIFIED at AWS,
// docs/compatibility.md#request-details).
std::optional<Rejection> parse_version(const Value* v, std::optional<uint64_t>* out) {
  if (!v || v->IsNull()) return std::nullopt;
  if (v->IsUint64()) {
    *out = v->GetUint64();
    return std::nullopt;
  }
  if (v->IsDouble()) {
    double d = v->GetDouble();
    if (d >= 0 && d < 9007199254740992.0 && std::floor(d) == d) {
      *out = static_cast<uint64_t>(d);
      return std::nullopt;
    }
  }
  return bad_request(messages::kInvalidVersion);
}

std::optional<Rejection> classify_section(const Value* v, const char* not_object_message, SectionUpdate* out) {
  if (!v) return std::nullopt;
  if (v->IsNull()) {
    out->kind = SectionUpdate::kNull;
  } else if (v->IsObject()) {
    out->kind = SectionUpdate::kObject;
    out->object = v;
  } else {
    return bad_request(not_object_message);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Rejection> parse_update(std::string_view payload, const Config& config, UpdateRequest* out) {
  if (!json::is_valid_utf8(payload)) return Rejection{415, messages::kUnsupportedEncoding};
  if (!json::parse(payload, &out->doc)) return bad_request(config.invalid_json_message);

  Value& root = out->doc;
  if (!root.IsObject()) return bad_request(messages::kMissingState);
  const Value* token = json::find_last(root, "clientToken");
  out->client_token = usable_token(token, config);
  // The state is de-duplicated in place below; it belongs to our own document.
  Value* state = const_cast<Value*>(json::find_last(root, "state"));
  if (!state) return bad_request(messages::kMissingState);
  if (token && !out->client_token) return bad_request(messages::kInvalidClientToken);
  if (!state->IsObject() && !state->IsNull()) return bad_request(messages::kStateNotObject);
  out->state = state;
  out->state_is_null = state->IsNull();

  if (state->IsObject()) {
    const Value* desired = json::find_last(*state, "desired");
    const Value* reported = json::find_last(*state, "reported");
    if (auto e = classify_section(desired, messages::kDesiredNotObject, &out->desired)) return e;
    if (auto e = classify_section(reported, messages::kReportedNotObject, &out->reported)) return e;
    for (auto it = state->MemberBegin(); it != state->MemberEnd(); ++it) {
      std::string_view key = json::view(it->name);
      if (key != "desired" && key != "reported")
        return bad_request(std::string(messages::kInvalidNodePrefix) + std::string(key) + "'");
    }
  }

  if (auto e = parse_version(json::find_last(root, "version"), &out->version)) return e;

  for (const SectionUpdate* section : {&out->desired, &out->reported}) {
    if (section->kind != SectionUpdate::kObject) continue;
    if (!within_depth(*section->object, 1, config.max_depth))
      return bad_request(std::string(messages::kTooDeepPrefix) + std::to_string(config.max_depth));
  }
  // Depth is bounded now: safe to walk the sections recursively.
  if (state->IsObject()) json::dedupe_keys(*state, out->doc.GetAllocator());
  // De-duplication rebuilt the state object: look the sections up again.
  if (state->IsObject()) {
    if (out->desired.kind == SectionUpdate::kObject) out->desired.object = json::find(*state, "desired");
    if (out->reported.kind == SectionUpdate::kObject) out->reported.object = json::find(*state, "reported");
  }
  for (const SectionUpdate* section : {&out->desired, &out->reported}) {
    if (section->kind == SectionUpdate::kObject && has_null_in_array(*section->object, false))
      return bad_request(config.null_in_array_message);
  }
  return std::nullopt;
}

std::optional<std::string> extract_client_token(std::string_view payload, const Config& config) {
  if (payload.empty() || payload.size() > config.max_payload_bytes || !json::is_valid_utf8(payload))
    return std::nullopt;
  json::Document doc;
  if (!json::parse(payload, &doc) || !doc.IsObject()) return std::nullopt;
  return usable_token(json::find_last(doc, "clientToken"), config);
}

}  // namespace shadow
