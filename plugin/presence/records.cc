#include "plugin/presence/records.h"

#include "shadow_core/json.h"

namespace shadow::presence {
namespace {

constexpr std::string_view kClientPrefix = "client/";
constexpr std::string_view kThingPrefix = "thing/";

std::string join(std::string_view prefix, std::string_view name) {
  std::string key(prefix);
  key.append(name);
  return key;
}

void string_member(json::Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

const json::Value* member(const json::Value& object, std::string_view name) {
  return json::find(object, name);
}

}  // namespace

std::string client_key(std::string_view client_id) { return join(kClientPrefix, client_id); }
std::string live_key(std::string_view client_id) { return join(kLivePrefix, client_id); }
std::string thing_key(std::string_view thing) { return join(kThingPrefix, thing); }

std::string encode(const ClientRecord& r) {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("version");
  w.Uint64(r.version);
  w.Key("connected");
  w.Bool(r.connected);
  w.Key("timestamp");
  w.Int64(r.timestamp_ms);
  string_member(w, "session", r.session_id);
  string_member(w, "principal", r.principal_id);
  if (r.thing) string_member(w, "thing", *r.thing);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<ClientRecord> decode_client(std::string_view value) {
  json::Document doc;
  if (!json::parse(value, &doc) || !doc.IsObject()) return std::nullopt;
  const json::Value* version = member(doc, "version");
  const json::Value* connected = member(doc, "connected");
  const json::Value* timestamp = member(doc, "timestamp");
  const json::Value* session = member(doc, "session");
  const json::Value* principal = member(doc, "principal");
  const json::Value* thing = member(doc, "thing");
  if (!version || !version->IsUint64() || !connected || !connected->IsBool() || !timestamp ||
      !timestamp->IsInt64() || !session || !session->IsString() || !principal || !principal->IsString() ||
      (thing && !thing->IsString())) {
    return std::nullopt;
  }
  ClientRecord r;
  r.version = version->GetUint64();
  r.connected = connected->GetBool();
  r.timestamp_ms = timestamp->GetInt64();
  r.session_id = std::string(json::view(*session));
  r.principal_id = std::string(json::view(*principal));
  if (thing) r.thing = std::string(json::view(*thing));
  return r;
}

std::string encode(const Connectivity& c) {
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("connected");
  w.Bool(c.connected);
  w.Key("timestamp");
  w.Int64(c.timestamp_ms);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<Connectivity> decode_connectivity(std::string_view value) {
  json::Document doc;
  if (!json::parse(value, &doc) || !doc.IsObject()) return std::nullopt;
  const json::Value* connected = member(doc, "connected");
  const json::Value* timestamp = member(doc, "timestamp");
  if (!connected || !connected->IsBool() || !timestamp || !timestamp->IsInt64()) return std::nullopt;
  return Connectivity{connected->GetBool(), timestamp->GetInt64()};
}

StatusOr<std::optional<Connectivity>> read_connectivity(Store& store, std::string_view thing) {
  std::string value;
  Status st = store.get_item(kSpace, thing_key(thing), &value);
  if (st.is_not_found()) return std::optional<Connectivity>();
  if (!st.is_ok()) return st;
  std::optional<Connectivity> c = decode_connectivity(value);
  if (!c) return Status::internal("presence record of thing '" + std::string(thing) + "' is damaged");
  return c;
}

Status list_connectivity(Store& store, std::string_view after, size_t limit,
                         std::vector<std::pair<std::string, Connectivity>>* out, bool* more) {
  out->clear();
  std::vector<Item> items;
  std::string after_key = after.empty() ? std::string() : thing_key(after);
  Status st = store.list_items(kSpace, kThingPrefix, after_key, limit, &items, more);
  if (!st.is_ok()) return st;
  for (const Item& item : items) {
    std::optional<Connectivity> c = decode_connectivity(item.value);
    if (!c) return Status::internal("presence record '" + item.key + "' is damaged");
    out->emplace_back(item.key.substr(kThingPrefix.size()), *c);
  }
  return Status::ok();
}

StatusOr<std::optional<ClientRecord>> read_client(Store& store, std::string_view client_id) {
  std::string value;
  Status st = store.get_item(kSpace, client_key(client_id), &value);
  if (st.is_not_found()) return std::optional<ClientRecord>();
  if (!st.is_ok()) return st;
  std::optional<ClientRecord> r = decode_client(value);
  if (!r) return Status::internal("presence record of client '" + std::string(client_id) + "' is damaged");
  return r;
}

}  // namespace shadow::presence
