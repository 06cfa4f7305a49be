#include "plugin/cluster/event_codec.h"

#include <charconv>

namespace shadow::cluster {
namespace {

constexpr std::string_view kMagic = "SE1";

void put(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
}

std::string stamp_text(const RecordStamp& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t;
  for (int shift = 60; shift >= 0; shift -= 4) t.push_back(kHex[(s.version >> shift) & 0xf]);
  t.push_back(s.deleted ? '1' : '0');
  return t;
}

bool parse_stamp(std::string_view t, RecordStamp* out) {
  if (t.size() != 17 || (t[16] != '0' && t[16] != '1')) return false;
  uint64_t v = 0;
  for (char c : t.substr(0, 16)) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out->version = v;
  out->deleted = t[16] == '1';
  return true;
}

// Reads one length-prefixed field from the front of *in.
bool take(std::string_view* in, std::string_view* field) {
  size_t colon = in->find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return false;
  size_t n = 0;
  auto [end, ec] = std::from_chars(in->data(), in->data() + colon, n);
  if (ec != std::errc() || end != in->data() + colon || n > in->size() - colon - 1) return false;
  *field = in->substr(colon + 1, n);
  in->remove_prefix(colon + 1 + n);
  return true;
}

Status malformed(const char* what) { return Status::invalid_argument(std::string("malformed cluster event: ") + what); }

}  // namespace

std::string encode_event(std::string_view origin, const ShadowId& id, const std::optional<WrittenStamps>& written,
                         const std::vector<OutMessage>& messages) {
  size_t size = 64 + origin.size() + id.thing.size() + id.shadow.size();
  for (const OutMessage& m : messages) size += m.topic.size() + m.payload.size() + 24;
  std::string out;
  out.reserve(size);
  out.append(kMagic);
  put(&out, origin);
  put(&out, id.thing);
  put(&out, id.shadow);
  if (written) {
    put(&out, "w");
    put(&out, written->before ? stamp_text(*written->before) : std::string());
    put(&out, stamp_text(written->after));
  } else {
    put(&out, "");
  }
  put(&out, std::to_string(messages.size()));
  for (const OutMessage& m : messages) {
    put(&out, m.topic);
    put(&out, m.payload);
    put(&out, std::to_string(m.qos));
    put(&out, m.retain ? "1" : "0");
  }
  return out;
}

std::optional<std::string_view> event_origin(std::string_view data) {
  if (data.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  data.remove_prefix(kMagic.size());
  std::string_view origin;
  if (!take(&data, &origin)) return std::nullopt;
  return origin;
}

StatusOr<ClusterEvent> decode_event(std::string_view data) {
  if (data.substr(0, kMagic.size()) != kMagic) return malformed("unknown format (a broker of another version?)");
  data.remove_prefix(kMagic.size());
  ClusterEvent e;
  std::string_view origin, thing, shadow, kind, count;
  if (!take(&data, &origin) || !take(&data, &thing) || !take(&data, &shadow) || !take(&data, &kind))
    return malformed("truncated header");
  if (thing.empty()) return malformed("no thing name");
  e.origin = origin;
  e.id.thing = thing;
  e.id.shadow = shadow;
  if (kind == "w") {
    std::string_view before, after;
    if (!take(&data, &before) || !take(&data, &after)) return malformed("truncated stamps");
    WrittenStamps w;
    if (!before.empty()) {
      RecordStamp b;
      if (!parse_stamp(before, &b)) return malformed("bad stamp");
      w.before = b;
    }
    if (!parse_stamp(after, &w.after)) return malformed("bad stamp");
    e.written = w;
  } else if (!kind.empty()) {
    return malformed("unknown kind");
  }
  size_t n = 0;
  if (!take(&data, &count)) return malformed("no message count");
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
  if (ec != std::errc() || end != count.data() + count.size() || n > 64) return malformed("bad message count");
  for (size_t i = 0; i < n; i++) {
    std::string_view topic, payload, qos, retain;
    if (!take(&data, &topic) || !take(&data, &payload) || !take(&data, &qos) || !take(&data, &retain))
      return malformed("truncated message");
    if (topic.empty() || qos.size() != 1 || qos[0] < '0' || qos[0] > '2' || (retain != "0" && retain != "1"))
      return malformed("bad message");
    OutMessage m;
    m.topic = topic;
    m.payload = payload;
    m.qos = qos[0] - '0';
    m.retain = retain == "1";
    e.messages.push_back(std::move(m));
  }
  if (!data.empty()) return malformed("trailing bytes");
  return e;
}

}  // namespace shadow::cluster
