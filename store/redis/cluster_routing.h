// Redis Cluster routing, without I/O: which slot a key lives in, what a
// redirect or error reply means, and which node serves a slot. Debian 12's
// hiredis (0.14) has no cluster support, so these rules are ours; they are
// kept pure here so that every one of them is unit-tested without a server
// (tests/unit/redis_routing_test.cc). The sockets are in connection.h, the
// retry loop that applies these rules in cluster_client.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/redis/reply.h"

namespace shadow::redis {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (polynomial 0x1021, initial value 0, no reflection: "XModem"),
// the checksum Redis Cluster hashes keys with. crc16("123456789") == 0x31C3.
uint16_t crc16(std::string_view data);

// The slot of `key`: CRC16 of its hash tag modulo 16384. The hash tag is the
// part between the first '{' and the first '}' after it, if that part is not
// empty; otherwise the whole key is hashed. So "sh:{dev1}:cfg" and
// "ix:{dev1}" share a slot, which is what lets one script touch both.
int key_slot(std::string_view key);

struct NodeAddress {
  std::string host;
  int port = 0;

  bool operator==(const NodeAddress&) const = default;
  bool operator<(const NodeAddress& o) const { return host != o.host ? host < o.host : port < o.port; }
  std::string to_string() const;  // "host:port", "[v6]:port" for IPv6
};

// "host:port" or "[v6addr]:port" (port 1..65535). Used for option values
// (plugin_opt_redis_nodes) and redirect targets.
StatusOr<NodeAddress> parse_node_address(std::string_view text);
// A comma-separated list of addresses; spaces around entries are ignored.
StatusOr<std::vector<NodeAddress>> parse_node_list(std::string_view text);

// A "-MOVED <slot> <endpoint>" or "-ASK <slot> <endpoint>" error. An empty
// host in the endpoint (":7001", sent when the node does not know its own
// address) means the host of the node that answered: `answered_by`.
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  NodeAddress node;
};
std::optional<Redirect> parse_redirect(std::string_view error, std::string_view answered_by);

// What the client should do about an error reply.
enum class ErrorAction {
  kNone,         // not an error the client handles: the caller's result
  kRedirect,     // MOVED or ASK: retry on the named node
  kRetryLater,   // the command was refused before it ran and may work soon:
                 // TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN, NOREPLICAS, BUSY
  kRefreshTopology,  // READONLY: we wrote to a replica, the map is stale
};
ErrorAction classify_error(const Reply& reply);

// One entry of CLUSTER SLOTS: a range of slots, its master and replicas.
struct SlotRange {
  int first = 0;
  int last = 0;
  NodeAddress master;
  std::vector<NodeAddress> replicas;
};

// Parses a CLUSTER SLOTS reply. A node listed with an empty host ("", which a
// node sends for itself when it does not know its address) gets the host of
// the node that answered: `answered_by`. Errors name what was malformed.
StatusOr<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply, std::string_view answered_by);

// Which master serves each slot. A value type: the client keeps an immutable
// one and swaps it whole on a refresh; a MOVED updates one slot in a copy.
class SlotMap {
 public:
  SlotMap();
  // Fails on ranges outside 0..16383, first > last, or overlapping ranges.
  static StatusOr<SlotMap> from_ranges(const std::vector<SlotRange>& ranges);

  // The master of `slot`, or nullptr when no node serves it (cluster down or
  // being set up).
  const NodeAddress* master_of(int slot) const;
  // Points one slot at `node` (after a MOVED).
  void move_slot(int slot, const NodeAddress& node);
  // Every node that is master of at least one slot, sorted.
  std::vector<NodeAddress> masters() const;
  // Every node known from the last CLUSTER SLOTS, masters and replicas, sorted.
  const std::vector<NodeAddress>& known_nodes() const { return known_; }
  // Slots without a master, as "0-5460,10923" ("" when every slot is served).
  std::string unserved_slots() const;
  bool empty() const { return nodes_.empty(); }

 private:
  int node_index(const NodeAddress& node);

  std::vector<NodeAddress> nodes_;   // masters referenced by owner_
  std::vector<NodeAddress> known_;
  std::array<int16_t, kSlotCount> owner_;  // index into nodes_, -1: none
};

// For each slot s, a short tag t with key_slot("{" + t + "}") == s. A key
// "<x>{<t>}" then lives in slot s, whatever <x> is: the store keeps one
// "things of this slot" index per slot under such a key, so that a script
// writing a shadow can update the index of the shadow's own slot. The tags
// are derived by a fixed rule (the first base-36 numbers, in order, that hash
// into each slot), so every broker computes the same ones; the rule is part
// of the on-Redis layout and must not change.
const std::array<std::string, kSlotCount>& slot_tags();

// The delay before retry number `attempt` (0-based) of a refused command:
// exponential from `base`, capped at `cap`, with "equal jitter" (half fixed,
// half uniform from `random`) so that brokers retrying together spread out.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, uint64_t random);

}  // namespace shadow::redis
