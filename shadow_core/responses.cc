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

// Writes `value` as the value of a member whose key was just written and
// returns its compact size (the writer first emits the ':' separator).
size_t member_value(Writer& w, const rapidjson::StringBuffer& buffer, const Value& value) {
  size_t before = buffer.GetSize();
  value.Accept(w);
  return buffer.GetSize() - before - 1;
}

// The closing members of the accepted documents: "version","timestamp"
// and the clientToken when the request had one, then the closing brace.
void version_timestamp_token(Writer& w, uint64_t version, int64_t now, const Token& token) {
  key(w, "version");
  w.Uint64(version);
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
}

// "state":{...},"metadata":{...} of a stored document, optionally with delta.
// Adds the compact sizes of desired and reported to *state_bytes.
void state_and_metadata(Writer& w, const rapidjson::StringBuffer& buffer, const ShadowDocument& doc,
                        const Delta* delta, size_t* state_bytes) {
  size_t bytes = 0;
  key(w, "state");
  w.StartObject();
  if (doc.desired()) {
    key(w, "desired");
    bytes += member_value(w, buffer, *doc.desired());
  }
  if (doc.reported()) {
    key(w, "reported");
    bytes += member_value(w, buffer, *doc.reported());
  }
  if (state_bytes) *state_bytes = bytes;
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

// Output buffers start big enough for a typical document: growing one by
// repeated doubling costs more than the JSON writing itself.
constexpr size_t kBufferBytes = 4096;

}  // namespace

std::string snapshot(const ShadowDocument& doc, size_t* state_bytes) {
  rapidjson::StringBuffer buffer(nullptr, kBufferBytes);
  Writer w(buffer);
  w.StartObject();
  state_and_metadata(w, buffer, doc, nullptr, state_bytes);
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
  version_timestamp_token(w, version, now, token);
  return take(buffer);
}

std::string documents(const std::string* previous, bool previous_as_null, const std::string& current, int64_t now,
                      const Token& token) {
  // The snapshots are already compact JSON: splice them in rather than
  // re-parse or re-write them. The tail goes through the writer for escaping.
  rapidjson::StringBuffer tail;
  Writer w(tail);
  w.StartObject();
  key(w, "timestamp");
  w.Int64(now);
  token_member(w, token);
  w.EndObject();
  std::string_view tail_members(tail.GetString() + 1, tail.GetSize() - 1);  // without the '{'

  std::string out;
  out.reserve(32 + (previous ? previous->size() : 4) + current.size() + tail_members.size());
  out += '{';
  if (previous) {
    out += "\"previous\":";
    out += *previous;
    out += ',';
  } else if (previous_as_null) {
    out += "\"previous\":null,";
  }
  out += "\"current\":";
  out += current;
  out += ',';
  out += tail_members;
  return out;
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
  rapidjson::StringBuffer buffer(nullptr, kBufferBytes);
  Writer w(buffer);
  w.StartObject();
  state_and_metadata(w, buffer, doc, &delta, nullptr);
  version_timestamp_token(w, doc.version(), now, token);
  return take(buffer);
}

std::string delete_accepted(uint64_t version, int64_t now, const Token& token) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  version_timestamp_token(w, version, now, token);
  return take(buffer);
}

std::string error(const Rejection& error, const std::optional<int64_t>& timestamp, const Token& token) {
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

namespace {

void string_value(Writer& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// The members after "results" in both list answers, and the closing brace.
void end_list(Writer& w, const std::optional<std::string>& next_token, int64_t now) {
  w.EndArray();
  if (next_token) {
    key(w, "nextToken");
    string_value(w, *next_token);
  }
  key(w, "timestamp");
  w.Int64(now);
  w.EndObject();
}

}  // namespace

std::string named_shadow_list(const std::vector<std::string>& names, const std::optional<std::string>& next_token,
                              int64_t now) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  key(w, "results");
  w.StartArray();
  for (const auto& name : names) string_value(w, name);
  end_list(w, next_token, now);
  return take(buffer);
}

std::string shadow_list(const std::vector<StoreKey>& keys, const std::optional<std::string>& next_token,
                        int64_t now) {
  rapidjson::StringBuffer buffer(nullptr, kBufferBytes);
  Writer w(buffer);
  w.StartObject();
  key(w, "results");
  w.StartArray();
  for (const StoreKey& k : keys) {
    w.StartObject();
    key(w, "thingName");
    string_value(w, k.thing);
    if (!k.shadow.empty()) {
      key(w, "shadowName");
      string_value(w, k.shadow);
    }
    w.EndObject();
  }
  end_list(w, next_token, now);
  return take(buffer);
}

}  // namespace shadow::responses
