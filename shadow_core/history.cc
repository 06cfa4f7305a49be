#include "shadow_core/history.h"

#include <cstdio>

#include "shadow_core/json.h"

namespace shadow::history {
namespace {

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void string_member(json::Writer& w, const char* name, std::string_view value) {
  w.Key(name);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// {"version":N,"timestamp":T,"operation":op,"channel":...,"identity":...[,"clientToken":...]
// without the closing brace.
std::string head(uint64_t version, int64_t now, const char* operation, const Writer& writer,
                 const std::optional<std::string>& client_token) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("version");
  w.Uint64(version);
  w.Key("timestamp");
  w.Int64(now);
  string_member(w, "operation", operation);
  string_member(w, "channel", writer.channel);
  string_member(w, "identity", writer.identity);
  if (client_token) string_member(w, "clientToken", *client_token);
  w.EndObject();
  std::string out(buf.GetString(), buf.GetSize());
  out.pop_back();  // '}'
  return out;
}

}  // namespace

std::string prefix(std::string_view thing, std::string_view shadow) {
  std::string p;
  p.reserve(thing.size() + shadow.size() + 2);
  p.append(thing);
  p.push_back('\0');
  p.append(shadow);
  p.push_back('\0');
  return p;
}

std::string key(std::string_view thing, std::string_view shadow, uint64_t version) {
  return prefix(thing, shadow) + hex16(version);
}

std::optional<uint64_t> version_of_key(std::string_view key) {
  size_t last = key.rfind('\0');
  if (last == std::string_view::npos || key.size() - last - 1 != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : key.substr(last + 1)) {
    int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

std::string purge_key(int64_t deleted_at, std::string_view thing, std::string_view shadow) {
  std::string k = hex16(static_cast<uint64_t>(deleted_at));
  k.push_back('\0');
  k.append(thing);
  k.push_back('\0');
  k.append(shadow);
  return k;
}

std::string update_entry(const std::string& snapshot, uint64_t version, int64_t now, const Writer& writer,
                         const std::optional<std::string>& client_token) {
  // The snapshot is {"state":...,"metadata":...,"version":N} (responses.h):
  // its state and metadata members are spliced in as they are.
  std::string out = head(version, now, "update", writer, client_token);
  size_t end = snapshot.rfind(",\"version\":");
  if (snapshot.size() > 2 && end != std::string::npos && end > 1) {
    out += ',';
    out.append(snapshot, 1, end - 1);
  }
  out += '}';
  return out;
}

std::string delete_entry(uint64_t version, int64_t now, const Writer& writer,
                         const std::optional<std::string>& client_token) {
  return head(version, now, "delete", writer, client_token) + "}";
}

Status prune(Store& store, const StoreKey& k, uint64_t new_version, uint32_t keep, bool restart,
             std::vector<ItemChange>* out) {
  const std::string p = prefix(k.thing, k.shadow);
  if (!restart) {
    if (new_version <= keep) return Status::ok();
    const uint64_t last_to_drop = new_version - keep;
    // Versions are consecutive, so the one entry that falls out is known: a
    // blind delete, no read. (Reading the oldest entries on every write
    // would make RocksDB step over the tombstones of every entry deleted
    // before, a cost that grows with the shadow's age.)
    out->push_back(ItemChange{std::string(kSpace), key(k.thing, k.shadow, last_to_drop), std::nullopt});
    // Now and then, entries left beyond N after N was lowered.
    if (new_version % kSweepEvery != 0) return Status::ok();
    std::vector<Item> oldest;
    bool more = false;
    Status st = store.list_items(kSpace, p, "", kMaxPrunePerWrite, &oldest, &more);
    if (!st.is_ok()) return st;
    for (const Item& item : oldest) {
      std::optional<uint64_t> v = version_of_key(item.key);
      if (!v || *v >= last_to_drop) break;
      out->push_back(ItemChange{std::string(kSpace), item.key, std::nullopt});
    }
    return Status::ok();
  }
  // A new incarnation of the shadow: every entry of the old one goes.
  std::vector<Item> all;
  bool more = false;
  Status st = store.list_items(kSpace, p, "", kMaxVersions + kMaxPrunePerWrite, &all, &more);
  if (!st.is_ok()) return st;
  for (const Item& item : all) out->push_back(ItemChange{std::string(kSpace), item.key, std::nullopt});
  return Status::ok();
}

}  // namespace shadow::history
