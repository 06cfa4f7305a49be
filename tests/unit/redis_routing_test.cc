// Tests of the Redis Cluster routing rules (store/redis/cluster_routing.h):
// key slots, redirects, error classes, CLUSTER SLOTS parsing, the slot map,
// the per-slot tags and the retry backoff. No server needed.
#include <catch2/catch.hpp>

#include <set>

#include "store/redis/cluster_routing.h"

namespace shadow::redis {
namespace {

Reply node(const std::string& host, long long port, const std::string& id = "id") {
  return Reply::array({Reply::string(host), Reply::integer_of(port), Reply::string(id), Reply::array({})});
}

Reply range(long long first, long long last, std::vector<Reply> nodes) {
  std::vector<Reply> e{Reply::integer_of(first), Reply::integer_of(last)};
  for (Reply& n : nodes) e.push_back(std::move(n));
  return Reply::array(std::move(e));
}

}  // namespace

TEST_CASE("redis routing: CRC16 and key slots match Redis Cluster", "[redis]") {
  CHECK(crc16("123456789") == 0x31C3);
  CHECK(crc16("") == 0);
  // Values as CLUSTER KEYSLOT returns them (checked against redis-server 7.0;
  // tests/redis/ compares against a live cluster too).
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("bar") == 5061);
  CHECK(key_slot("123456789") == 12739);
  CHECK(key_slot("{user1000}.following") == 3443);
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  // Hash tag rules: the first '{' up to the first '}' after it, not empty.
  CHECK(key_slot("foo{}{bar}") == 8363);  // empty tag: the whole key
  CHECK(key_slot("foo{{bar}}zap") == 4015);
  CHECK(key_slot("foo{{bar}}zap") == key_slot("{bar"));
  CHECK(key_slot("foo{bar}{zap}") == key_slot("bar"));
  CHECK(key_slot("{}") == 15257);
  CHECK(key_slot("no{close") == crc16("no{close") % kSlotCount);
  // Binary-safe.
  CHECK(key_slot(std::string("a\0b", 3)) == crc16(std::string("a\0b", 3)) % kSlotCount);
}

TEST_CASE("redis routing: node addresses", "[redis]") {
  auto a = parse_node_address("10.0.0.5:6379");
  REQUIRE(a.ok());
  CHECK(a.value() == NodeAddress{"10.0.0.5", 6379});
  CHECK(a.value().to_string() == "10.0.0.5:6379");
  auto b = parse_node_address(" redis-1.example:7000 ");
  REQUIRE(b.ok());
  CHECK(b.value() == NodeAddress{"redis-1.example", 7000});
  auto c = parse_node_address("[fd00::5]:6380");
  REQUIRE(c.ok());
  CHECK(c.value() == NodeAddress{"fd00::5", 6380});
  CHECK(c.value().to_string() == "[fd00::5]:6380");
  for (const char* bad : {"", "host", "host:", ":6379", "host:0", "host:65536", "host:12x", "fd00::5:6379",
                          "[fd00::5]", "[fd00::5]6379", "[]:1"}) {
    INFO(bad);
    auto r = parse_node_address(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains("host:port"));
  }
  auto list = parse_node_list("127.0.0.1:27001, 127.0.0.1:27002,[::1]:27003");
  REQUIRE(list.ok());
  REQUIRE(list.value().size() == 3);
  CHECK(list.value()[2] == NodeAddress{"::1", 27003});
  CHECK_FALSE(parse_node_list("127.0.0.1:27001,").ok());
  CHECK_FALSE(parse_node_list("").ok());
}

TEST_CASE("redis routing: MOVED and ASK redirects", "[redis]") {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381", "10.0.0.1");
  REQUIRE(m);
  CHECK(m->kind == Redirect::Kind::kMoved);
  CHECK(m->slot == 3999);
  CHECK(m->node == NodeAddress{"127.0.0.1", 6381});
  auto a = parse_redirect("ASK 0 redis-2:7002", "10.0.0.1");
  REQUIRE(a);
  CHECK(a->kind == Redirect::Kind::kAsk);
  CHECK(a->slot == 0);
  CHECK(a->node == NodeAddress{"redis-2", 7002});
  // A node that does not know its address sends an empty host: the host we asked.
  auto e = parse_redirect("MOVED 16383 :7001", "10.0.0.1");
  REQUIRE(e);
  CHECK(e->node == NodeAddress{"10.0.0.1", 7001});
  // IPv6 endpoints come without brackets: the port is after the last colon.
  auto v6 = parse_redirect("MOVED 5 fd00::7:7001", "x");
  REQUIRE(v6);
  CHECK(v6->node == NodeAddress{"fd00::7", 7001});
  for (const char* bad : {"MOVED", "MOVED 1", "MOVED x 1.2.3.4:5", "MOVED 16384 a:1", "MOVED -1 a:1", "MOVED 1 host",
                          "MOVED 1 host:0", "ASK 1 host:99999", "ERR unknown", "moved 1 a:1", "MOVEDX 1 a:1"}) {
    INFO(bad);
    CHECK_FALSE(parse_redirect(bad, "h"));
  }
}

TEST_CASE("redis routing: which errors are retried, redirected or returned", "[redis]") {
  CHECK(classify_error(Reply::error("MOVED 1 a:1")) == ErrorAction::kRedirect);
  CHECK(classify_error(Reply::error("ASK 1 a:1")) == ErrorAction::kRedirect);
  for (const char* e : {"TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down",
                        "LOADING Redis is loading the dataset in memory", "MASTERDOWN Link with MASTER is down",
                        "NOREPLICAS Not enough good replicas to write.", "BUSY Redis is busy running a script."}) {
    INFO(e);
    CHECK(classify_error(Reply::error(e)) == ErrorAction::kRetryLater);
  }
  CHECK(classify_error(Reply::error("READONLY You can't write against a read only replica.")) ==
        ErrorAction::kRefreshTopology);
  // Answers for the caller: the command ran or can never run.
  for (const char* e : {"NOSCRIPT No matching script.", "OOM command not allowed", "ERR syntax error",
                        "WRONGTYPE Operation against a key", "NOAUTH Authentication required."}) {
    INFO(e);
    CHECK(classify_error(Reply::error(e)) == ErrorAction::kNone);
  }
  CHECK(classify_error(Reply::string("MOVED 1 a:1")) == ErrorAction::kNone);
  CHECK(classify_error(Reply::status("OK")) == ErrorAction::kNone);
  CHECK(classify_error(Reply::nil()) == ErrorAction::kNone);
}

TEST_CASE("redis routing: CLUSTER SLOTS replies", "[redis]") {
  Reply r = Reply::array({
      range(0, 5460, {node("127.0.0.1", 27001), node("127.0.0.1", 27005)}),
      range(5461, 10922, {node("", 27002)}),  // the answering node itself, address unknown
      range(10923, 16383, {node("127.0.0.1", 27003), node("127.0.0.1", 27004), node("127.0.0.1", 27006)}),
  });
  auto ranges = parse_cluster_slots(r, "10.1.1.1");
  REQUIRE(ranges.ok());
  REQUIRE(ranges.value().size() == 3);
  CHECK(ranges.value()[0].first == 0);
  CHECK(ranges.value()[0].last == 5460);
  CHECK(ranges.value()[0].master == NodeAddress{"127.0.0.1", 27001});
  REQUIRE(ranges.value()[0].replicas.size() == 1);
  CHECK(ranges.value()[1].master == NodeAddress{"10.1.1.1", 27002});
  CHECK(ranges.value()[2].replicas.size() == 2);

  CHECK(parse_cluster_slots(Reply::array({}), "h").ok());  // a node not in a cluster yet
  for (const Reply& bad : {Reply::error("ERR This instance has cluster support disabled"), Reply::string("x"),
                           Reply::array({Reply::integer_of(1)}),
                           Reply::array({range(0, 1, {Reply::array({Reply::string("h")})})}),
                           Reply::array({range(0, 1, {node("h", 0)})}),
                           Reply::array({Reply::array({Reply::string("0"), Reply::integer_of(1), node("h", 1)})})}) {
    auto p = parse_cluster_slots(bad, "h");
    CHECK_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Catch::Contains("CLUSTER SLOTS"));
  }
}

TEST_CASE("redis routing: the slot map", "[redis]") {
  const NodeAddress a{"127.0.0.1", 1}, b{"127.0.0.1", 2}, c{"127.0.0.2", 1}, r{"127.0.0.9", 9};
  SlotMap empty;
  CHECK(empty.empty());
  CHECK(empty.master_of(0) == nullptr);
  CHECK(empty.unserved_slots() == "0-16383");

  auto m = SlotMap::from_ranges({{0, 5460, a, {r}}, {5461, 10922, b, {}}, {10923, 16383, c, {}}});
  REQUIRE(m.ok());
  SlotMap map = m.value();
  CHECK(*map.master_of(0) == a);
  CHECK(*map.master_of(5460) == a);
  CHECK(*map.master_of(5461) == b);
  CHECK(*map.master_of(16383) == c);
  CHECK(map.master_of(-1) == nullptr);
  CHECK(map.master_of(16384) == nullptr);
  CHECK(map.unserved_slots().empty());
  CHECK(map.masters() == std::vector<NodeAddress>{a, b, c});
  CHECK(map.known_nodes() == std::vector<NodeAddress>{a, b, c, r});

  // A MOVED updates one slot; a master that loses its last slot is no
  // longer a master.
  map.move_slot(100, b);
  CHECK(*map.master_of(100) == b);
  CHECK(*map.master_of(99) == a);
  const NodeAddress d{"127.0.0.3", 7};
  for (int s = 10923; s <= 16383; ++s) map.move_slot(s, d);
  CHECK(map.masters() == std::vector<NodeAddress>{a, b, d});
  CHECK(map.known_nodes().size() == 5);

  // Partial coverage is allowed and reported.
  auto partial = SlotMap::from_ranges({{0, 99, a, {}}, {200, 16383, b, {}}});
  REQUIRE(partial.ok());
  CHECK(partial.value().unserved_slots() == "100-199");
  auto single = SlotMap::from_ranges({{0, 16382, a, {}}});
  REQUIRE(single.ok());
  CHECK(single.value().unserved_slots() == "16383");

  CHECK_FALSE(SlotMap::from_ranges({{0, 100, a, {}}, {100, 200, b, {}}}).ok());  // overlap
  CHECK_FALSE(SlotMap::from_ranges({{-1, 100, a, {}}}).ok());
  CHECK_FALSE(SlotMap::from_ranges({{0, 16384, a, {}}}).ok());
  CHECK_FALSE(SlotMap::from_ranges({{10, 5, a, {}}}).ok());
}

TEST_CASE("redis routing: one short tag per slot, fixed forever", "[redis]") {
  const auto& tags = slot_tags();
  std::set<std::string> distinct;
  for (int s = 0; s < kSlotCount; ++s) {
    const std::string& t = tags[static_cast<size_t>(s)];
    REQUIRE_FALSE(t.empty());
    REQUIRE(t.size() <= 4);
    REQUIRE(key_slot("{" + t + "}") == s);
    REQUIRE(key_slot("prefix:tx:{" + t + "}") == s);
    distinct.insert(t);
  }
  CHECK(distinct.size() == static_cast<size_t>(kSlotCount));
  // The tags are part of the data layout in Redis: pin a few.
  CHECK(tags[static_cast<size_t>(key_slot("0"))] == "0");
  CHECK(tags[static_cast<size_t>(key_slot("z"))] == "z");
  CHECK(tags[static_cast<size_t>(key_slot("10"))] == "10");
}

TEST_CASE("redis routing: backoff grows, is capped and jittered", "[redis]") {
  using std::chrono::milliseconds;
  const milliseconds base(20), cap(500);
  for (uint64_t r : {0ull, 1ull, 7ull, 123456789ull, ~0ull}) {
    CHECK(backoff_delay(0, base, cap, r) >= milliseconds(10));
    CHECK(backoff_delay(0, base, cap, r) <= milliseconds(20));
    CHECK(backoff_delay(2, base, cap, r) >= milliseconds(40));
    CHECK(backoff_delay(2, base, cap, r) <= milliseconds(80));
    for (int attempt : {5, 10, 64, 1000}) {
      CHECK(backoff_delay(attempt, base, cap, r) >= milliseconds(250));
      CHECK(backoff_delay(attempt, base, cap, r) <= cap);
    }
  }
  // Jitter: different random inputs give different delays.
  std::set<long long> seen;
  for (uint64_t r = 0; r < 50; ++r) seen.insert(backoff_delay(3, base, cap, r * 7919).count());
  CHECK(seen.size() > 10);
}

}  // namespace shadow::redis

