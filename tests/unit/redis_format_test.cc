// Tests of the Redis store that need no server: its key and value format,
// the commit script's shape, option checks, and what happens when no node
// answers. The store against a real cluster is tested in tests/redis/.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "store/redis/cluster_routing.h"
#include "store/redis/redis_store.h"

namespace shadow {

TEST_CASE("redis format: keys share the thing's slot and are pinned", "[redis]") {
  using namespace redis_format;
  CHECK(shadow_key("", "dev1", "") == "sh:{dev1}");
  CHECK(shadow_key("", "dev1", "cfg") == "sh:{dev1}:cfg");
  CHECK(shadow_key("t1:", "dev1", "a:b") == "t1:sh:{dev1}:a:b");
  CHECK(index_key("", "dev1") == "ix:{dev1}");
  CHECK(event_channel("p/", "dev1") == "p/ev:{dev1}");
  int slot = redis::key_slot("dev1");
  CHECK(things_key("", slot) == "tx:{" + redis::slot_tags()[static_cast<size_t>(slot)] + "}");
  for (const char* thing : {"dev1", "a:b", "x-y_z", "A"}) {
    int s = redis::key_slot(shadow_key("pre:", thing, ""));
    CHECK(s == redis::key_slot(thing));
    CHECK(redis::key_slot(shadow_key("pre:", thing, "named}{x")) == s);
    CHECK(redis::key_slot(index_key("pre:", thing)) == s);
    CHECK(redis::key_slot(things_key("pre:", s)) == s);
    CHECK(redis::key_slot(event_channel("pre:", thing)) == s);
  }
  CHECK(valid_thing("dev-1:a_b"));
  CHECK_FALSE(valid_thing(""));
  CHECK_FALSE(valid_thing("a{b"));
  CHECK_FALSE(valid_thing("a}b"));
}

TEST_CASE("redis format: item keys and listing ranges", "[redis]") {
  using namespace redis_format;
  CHECK(item_values_key("p:", "rules") == "p:ih:{rules}");
  CHECK(item_index_key("p:", "rules") == "p:iz:{rules}");
  CHECK(redis::key_slot(item_values_key("", "rules")) == redis::key_slot(item_index_key("x", "rules")));
  using R = std::pair<std::string, std::string>;
  CHECK(item_range("", "") == R{"-", "+"});
  CHECK(item_range("job/", "") == R{"[job/", "(job0"});
  CHECK(item_range("job/", "job/a") == R{"(job/a", "(job0"});
  CHECK(item_range("job/", "a") == R{"[job/", "(job0"});   // `after` before the prefix
  CHECK(item_range("job/", "z") == R{"(z", "(job0"});      // past it: an empty range
  CHECK(item_range("", "k") == R{"(k", "+"});
  CHECK(item_range(std::string("a\xff", 2), "") == R{std::string("[a\xff", 3), "(b"});
  CHECK(item_range(std::string("\xff\xff", 2), "") == R{std::string("[\xff\xff", 3), "+"});
}

TEST_CASE("redis format: values are pinned and round-trip", "[redis]") {
  using namespace redis_format;
  ShadowRecord r;
  r.version = 0x0102030405060708ull;
  r.deleted = true;
  r.deleted_at = -2;
  r.document = "doc";
  std::string v = encode_record(r);
  CHECK(v == "10102030405060708" "1" "fffffffffffffffe" "doc");
  CHECK(v.size() == kHeaderSize + 3);
  // The stamp the script compares is the record's first bytes.
  CHECK(encode_stamp(stamp_of(r)) == v.substr(0, kStampSize));
  CHECK(encode_stamp({5, false}) == "10000000000000005" "0");

  ShadowRecord back;
  REQUIRE(decode_record(v, &back).is_ok());
  CHECK(back.version == r.version);
  CHECK(back.deleted);
  CHECK(back.deleted_at == -2);
  CHECK(back.document == "doc");

  ShadowRecord live;
  live.version = 1;
  live.document = std::string("{\"a\":\0}", 7);  // binary-safe
  REQUIRE(decode_record(encode_record(live), &back).is_ok());
  CHECK_FALSE(back.deleted);
  CHECK(back.document == live.document);
}

TEST_CASE("redis format: corrupt values are rejected", "[redis]") {
  using namespace redis_format;
  ShadowRecord r;
  r.version = 3;
  std::string good = encode_record(r);
  ShadowRecord out;
  for (size_t n = 0; n < kHeaderSize; ++n) {
    Status s = decode_record(std::string_view(good).substr(0, n), &out);
    CHECK(s.code() == Status::Code::kIoError);
    CHECK_THAT(s.message(), Catch::Contains("short"));
  }
  for (size_t pos : {0, 1, 16, 17, 18, 33}) {
    std::string bad = good;
    bad[pos] = 'X';
    INFO(pos);
    CHECK(decode_record(bad, &out).code() == Status::Code::kIoError);
  }
  std::string upper = good;
  upper[16] = 'A';  // hex digits are lowercase
  CHECK(decode_record(upper, &out).code() == Status::Code::kIoError);
}

TEST_CASE("redis format: the commit script checks before it writes", "[redis]") {
  using namespace redis_format;
  const std::string& s = commit_script();
  // A shebang script is refused as a whole when over maxmemory, and may not
  // touch keys of another slot.
  CHECK(s.rfind("#!lua\n", 0) == 0);
  CHECK(s.find("allow-cross-slot") == std::string::npos);
  // Every return before the first SET: a refused compare writes nothing.
  size_t first_write = s.find("redis.call('SET'");
  REQUIRE(first_write != std::string::npos);
  CHECK(s.rfind("return 0", first_write) != std::string::npos);
  CHECK(s.find("SHADOWCORRUPT") < first_write);
  CHECK(script_sha1(commit_script()).size() == 40);
  CHECK(script_sha1("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST_CASE("redis store: options are checked at open", "[redis]") {
  RedisStoreOptions o;
  auto opened = RedisStore::open(o);  // no seeds
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == Status::Code::kInvalidArgument);
  CHECK_THAT(opened.status().message(), Catch::Contains("host:port"));

  o.cluster.seeds = {{"127.0.0.1", 1}};
  o.key_prefix = "a{b";
  CHECK_THAT(RedisStore::open(o).status().message(), Catch::Contains("prefix"));
  o.key_prefix = "";
  o.wait_timeout = std::chrono::milliseconds(3000);
  o.cluster.connection.command_timeout = std::chrono::milliseconds(2000);
  CHECK_THAT(RedisStore::open(o).status().message(), Catch::Contains("WAIT timeout"));
  o.wait_replicas = 0;  // no WAIT, no constraint
  CHECK(RedisStore::open(o).ok());
  o.cluster.tls.enabled = true;
  o.cluster.tls.ca_file = "/nonexistent/ca.pem";
  CHECK_THAT(RedisStore::open(o).status().message(), Catch::Contains("/nonexistent/ca.pem"));
  o.cluster.tls.enabled = false;

  // Nothing listens on port 1: calls fail with a reason, bounded by the
  // request timeout, and never crash.
  o.cluster.request_timeout = std::chrono::milliseconds(200);
  opened = RedisStore::open(o);
  REQUIRE(opened.ok());
  RedisStore& store = *opened.value();
  ShadowRecord rec;
  Status g = store.get({"t", ""}, &rec);
  CHECK(g.code() == Status::Code::kUnavailable);
  CHECK_THAT(g.message(), Catch::Contains("127.0.0.1:1") && Catch::Contains("gave up"));
  CHECK(store.compare_and_set({"t", ""}, std::nullopt, rec).code() == Status::Code::kUnavailable);
  CHECK(store.get({"", ""}, &rec).code() == Status::Code::kInvalidArgument);
  CHECK(store.get({"a{b}", ""}, &rec).code() == Status::Code::kInvalidArgument);
  Status h = store.health();
  CHECK(h.code() == Status::Code::kUnavailable);
  CHECK_THAT(h.message(), Catch::Contains("CLUSTER SLOTS") && Catch::Contains("127.0.0.1:1"));
}

TEST_CASE("redis store: password files", "[redis]") {
  char tmpl[] = "/tmp/shadow-redis-pw.XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "s3cret\r\nignored\n", 16) == 16);
  close(fd);
  auto pw = read_password_file(tmpl);
  REQUIRE(pw.ok());
  CHECK(pw.value() == "s3cret");
  FILE* f = fopen(tmpl, "w");
  fclose(f);
  CHECK_THAT(read_password_file(tmpl).status().message(), Catch::Contains("empty"));
  unlink(tmpl);
  CHECK_THAT(read_password_file(tmpl).status().message(), Catch::Contains("cannot read"));
}

}  // namespace shadow

TEST_CASE("redis record cache: keeps, replaces, forgets, and stays within its capacity", "[redis]") {
  shadow::redis::RecordCache cache(64);
  CHECK_FALSE(cache.find("k"));
  cache.put("k", "one");
  cache.put("k", "two");
  REQUIRE(cache.find("k"));
  CHECK(*cache.find("k") == "two");
  cache.erase("k");
  CHECK_FALSE(cache.find("k"));
  for (int i = 0; i < 1000; ++i) cache.put("key-" + std::to_string(i), std::to_string(i));
  CHECK(cache.size() <= 64);
  CHECK(cache.size() >= 16);  // every stripe keeps some
  // The newest entry of a stripe is never the one dropped.
  CHECK(*cache.find("key-999") == "999");

  shadow::redis::RecordCache off(0);
  off.put("k", "v");
  CHECK_FALSE(off.find("k"));
  CHECK(off.size() == 0);
}
