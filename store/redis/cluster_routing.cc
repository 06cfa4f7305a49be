#include "store/redis/cluster_routing.h"

#include <algorithm>
#include <charconv>

namespace shadow::redis {

uint16_t crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

int key_slot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlotCount - 1);
}

std::string NodeAddress::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "host:port" split at the last colon; the host may be empty.
std::optional<NodeAddress> split_endpoint(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = parse_int(text.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  NodeAddress a;
  a.host.assign(text.substr(0, colon));
  a.port = *port;
  return a;
}

}  // namespace

StatusOr<NodeAddress> parse_node_address(std::string_view text) {
  std::string_view t = trim(text);
  std::optional<NodeAddress> a;
  if (!t.empty() && t.front() == '[') {
    size_t close = t.find(']');
    if (close != std::string_view::npos && close + 1 < t.size() && t[close + 1] == ':') {
      a = split_endpoint(t.substr(close + 1));  // ":port"
      if (a) a->host.assign(t.substr(1, close - 1));
    }
  } else if (std::count(t.begin(), t.end(), ':') == 1) {
    a = split_endpoint(t);
  }
  if (!a || a->host.empty())
    return Status::invalid_argument("'" + std::string(text) +
                                    "' is not a Redis node address: expected host:port, e.g. 10.0.0.5:6379 "
                                    "or [fd00::5]:6379");
  return *a;
}

StatusOr<std::vector<NodeAddress>> parse_node_list(std::string_view text) {
  std::vector<NodeAddress> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    StatusOr<NodeAddress> a = parse_node_address(item);
    if (!a.ok()) return a.status();
    out.push_back(a.value());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<Redirect> parse_redirect(std::string_view error, std::string_view answered_by) {
  Redirect r;
  if (error.substr(0, 6) == "MOVED ") {
    r.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.substr(0, 4) == "ASK ") {
    r.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = parse_int(error.substr(0, space));
  if (!slot || *slot < 0 || *slot >= kSlotCount) return std::nullopt;
  auto node = split_endpoint(error.substr(space + 1));
  if (!node) return std::nullopt;
  if (node->host.empty()) node->host.assign(answered_by);
  r.slot = *slot;
  r.node = std::move(*node);
  return r;
}

ErrorAction classify_error(const Reply& reply) {
  std::string_view code = reply.error_code();
  if (code.empty()) return ErrorAction::kNone;
  if (code == "MOVED" || code == "ASK") return ErrorAction::kRedirect;
  if (code == "TRYAGAIN" || code == "CLUSTERDOWN" || code == "LOADING" || code == "MASTERDOWN" ||
      code == "NOREPLICAS" || code == "BUSY")
    return ErrorAction::kRetryLater;
  if (code == "READONLY") return ErrorAction::kRefreshTopology;
  return ErrorAction::kNone;
}

namespace {

StatusOr<NodeAddress> node_of(const Reply& r, std::string_view answered_by) {
  if (r.type != Reply::Type::kArray || r.elements.size() < 2 || r.elements[0].type != Reply::Type::kString ||
      r.elements[1].type != Reply::Type::kInteger)
    return Status::io_error("CLUSTER SLOTS: a node entry is not [host, port, ...]");
  NodeAddress a;
  a.host = r.elements[0].str;
  if (a.host.empty()) a.host.assign(answered_by);
  if (r.elements[1].integer < 1 || r.elements[1].integer > 65535)
    return Status::io_error("CLUSTER SLOTS: node port " + std::to_string(r.elements[1].integer) + " out of range");
  a.port = static_cast<int>(r.elements[1].integer);
  return a;
}

}  // namespace

StatusOr<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply, std::string_view answered_by) {
  if (reply.is_error()) return Status::io_error("CLUSTER SLOTS failed: " + reply.str);
  if (reply.type != Reply::Type::kArray) return Status::io_error("CLUSTER SLOTS: the reply is not an array");
  std::vector<SlotRange> out;
  for (const Reply& e : reply.elements) {
    if (e.type != Reply::Type::kArray || e.elements.size() < 3 || e.elements[0].type != Reply::Type::kInteger ||
        e.elements[1].type != Reply::Type::kInteger)
      return Status::io_error("CLUSTER SLOTS: an entry is not [first, last, master, replicas...]");
    SlotRange r;
    r.first = static_cast<int>(e.elements[0].integer);
    r.last = static_cast<int>(e.elements[1].integer);
    StatusOr<NodeAddress> master = node_of(e.elements[2], answered_by);
    if (!master.ok()) return master.status();
    r.master = master.value();
    for (size_t i = 3; i < e.elements.size(); ++i) {
      StatusOr<NodeAddress> replica = node_of(e.elements[i], answered_by);
      if (!replica.ok()) return replica.status();
      r.replicas.push_back(replica.value());
    }
    out.push_back(std::move(r));
  }
  return out;
}

SlotMap::SlotMap() { owner_.fill(-1); }

StatusOr<SlotMap> SlotMap::from_ranges(const std::vector<SlotRange>& ranges) {
  SlotMap m;
  for (const SlotRange& r : ranges) {
    if (r.first < 0 || r.last >= kSlotCount || r.first > r.last)
      return Status::io_error("CLUSTER SLOTS: bad slot range " + std::to_string(r.first) + "-" +
                              std::to_string(r.last));
    int idx = m.node_index(r.master);
    for (int s = r.first; s <= r.last; ++s) {
      if (m.owner_[s] != -1)
        return Status::io_error("CLUSTER SLOTS: slot " + std::to_string(s) + " is listed twice");
      m.owner_[s] = static_cast<int16_t>(idx);
    }
    m.known_.push_back(r.master);
    for (const NodeAddress& n : r.replicas) m.known_.push_back(n);
  }
  std::sort(m.known_.begin(), m.known_.end());
  m.known_.erase(std::unique(m.known_.begin(), m.known_.end()), m.known_.end());
  return m;
}

int SlotMap::node_index(const NodeAddress& node) {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] == node) return static_cast<int>(i);
  nodes_.push_back(node);
  return static_cast<int>(nodes_.size() - 1);
}

const NodeAddress* SlotMap::master_of(int slot) const {
  if (slot < 0 || slot >= kSlotCount || owner_[slot] < 0) return nullptr;
  return &nodes_[owner_[slot]];
}

void SlotMap::move_slot(int slot, const NodeAddress& node) {
  if (slot < 0 || slot >= kSlotCount) return;
  owner_[slot] = static_cast<int16_t>(node_index(node));
  if (!std::binary_search(known_.begin(), known_.end(), node)) {
    known_.insert(std::upper_bound(known_.begin(), known_.end(), node), node);
  }
}

std::vector<NodeAddress> SlotMap::masters() const {
  std::vector<bool> used(nodes_.size(), false);
  for (int16_t o : owner_)
    if (o >= 0) used[o] = true;
  std::vector<NodeAddress> out;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (used[i]) out.push_back(nodes_[i]);
  std::sort(out.begin(), out.end());
  return out;
}

std::string SlotMap::unserved_slots() const {
  std::string out;
  for (int s = 0; s < kSlotCount;) {
    if (owner_[s] >= 0) {
      ++s;
      continue;
    }
    int e = s;
    while (e + 1 < kSlotCount && owner_[e + 1] < 0) ++e;
    if (!out.empty()) out += ",";
    out += std::to_string(s);
    if (e > s) out += "-" + std::to_string(e);
    s = e + 1;
  }
  return out;
}

const std::array<std::string, kSlotCount>& slot_tags() {
  static const std::array<std::string, kSlotCount> tags = [] {
    std::array<std::string, kSlotCount> t;
    int missing = kSlotCount;
    static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (uint64_t n = 0; missing > 0; ++n) {
      std::string s;
      uint64_t v = n;
      do {
        s.insert(s.begin(), kDigits[v % 36]);
        v /= 36;
      } while (v > 0);
      int slot = crc16(s) & (kSlotCount - 1);
      if (t[slot].empty()) {
        t[slot] = s;
        --missing;
      }
    }
    return t;
  }();
  return tags;
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                        uint64_t random) {
  long long d = base.count();
  for (int i = 0; i < attempt && d < cap.count(); ++i) d *= 2;
  d = std::min(d, static_cast<long long>(cap.count()));
  if (d <= 1) return std::chrono::milliseconds(d);
  long long half = d / 2;
  return std::chrono::milliseconds(half + static_cast<long long>(random % static_cast<uint64_t>(d - half + 1)));
}

}  // namespace shadow::redis
