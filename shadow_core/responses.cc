#include "shadow_core/responses.h"

namespace shadow::responses {
namespace {

using json::Value;
using json::Writer;

void key(Writer& w, const char* name) { w.Key(name); }

void token_member(Writer& w, const Token& token) {
  if (!token) return;
  key(w, "clientToken");
  w.String(token->data(), static_cast<rapidjson::SizeType>(token->size()));
}

// "state":{...},"metadata":{...} of a stored document, optionally with delta.
void state_and_metadata(Writer& w, const ShadowDocument& doc, const Delta* delta) {
  key(w, "state");
  w.StartObject();
  if (doc.desired()) {
    key(w, "desired");
    doc.desired()->Accept(w);
  }
  if (doc.reported()) {
    key(w, "reported");
    doc.reported()->Accept(w);
  }
  if (delta && !delta->empty()) {
    key(w, "delta");
    delta->state.Accept(w);
  }
  w.EndObject();
  key(w, "metadata");
  w.StartObject();
  if (doc.desired_metadata()) {
    key(w, "desired");
    doc.desired_metadata()->Accept(w);
  }
  if (doc.reported_metadata()) {
    key(w, "reported");
    doc.reported_metadata()->Accept(w);
  }
  w.EndObject();
}

std::string take(rapidjson::StringBuffer& buffer) { return std::string(buffer.GetString(), buffer.GetSize()); }

}  // namespace

std::string snapshot(const ShadowDocument& doc) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  state_and_metadata(w, doc, nullptr);
  key(w, "version");
  w.Uint64(doc.version());
  w.EndObject();
  return take(buffer);
}

std::string update_accepted(const Value& request_state, const Value& metadata, uint64_t version, int64_t now,
                            const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "state");
  request_state.Accept(w);
  key(w, "metadata");
  metadata.Accept(w);
  key(w, "version");
  w.Uint64(version);
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string documents(const std::string* previous, bool previous_as_null, const std::string& current, int64_t now,
                      const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  if (previous) {
    key(w, "previous");
    w.RawValue(previous->data(), previous->size(), rapidjson::kObjectType);
  } else if (previous_as_null) {
    key(w, "previous");
    w.Null();
  }
  key(w, "current");
  w.RawValue(current.data(), current.size(), rapidjson::kObjectType);
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string delta(const Delta& delta, uint64_t version, int64_t now, const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "version");
  w.Uint64(version);
  key(w, "timestamp");
  w.Int64(now);
  key(w, "state");
  delta.state.Accept(w);
  key(w, "metadata");
  delta.metadata.Accept(w);
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string get_accepted(const ShadowDocument& doc, const Delta& delta, int64_t now, const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  state_and_metadata(w, doc, &delta);
  key(w, "version");
  w.Uint64(doc.version());
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string delete_accepted(uint64_t version, int64_t now, const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "version");
  w.Uint64(version);
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string error(const Error& error, const std::optional<int64_t>& timestamp, const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "code");
  w.Int(error.code);
  key(w, "message");
  w.String(error.message.data(), static_cast<rapidjson::SizeType>(error.message.size()));
  if (timestamp) {
    key(w, "timestamp");
    w.Int64(*timestamp);
  }
  token_member(w, token);
  w.EndObject();
  return take(buffer);
}

std::string named_shadow_list(const std::vector<std::string>& names, const std::optional<std::string>& next_token,
                              int64_t now) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "results");
  w.StartArray();
  for (const auto& name : names) w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.EndArray();
  if (next_token) {
    key(w, "nextToken");
    w.String(next_token->data(), static_cast<rapidjson::SizeType>(next_token->size()));
  }
  key(w, "timestamp");
  w.Int64(now);
  w.EndObject();
  return take(buffer);
}

}  // namespace shadow::responses
