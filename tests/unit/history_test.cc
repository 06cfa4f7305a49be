// The shadow history (shadow_core/history.h): entries written with each
// update and delete, retention of the newest N, a restart after an expired
// tombstone, reading it back page by page, and the purge after the
// tombstone retention.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "forwarding_store.h"
#include "shadow_core/history.h"
#include "shadow_core/json.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"

using namespace shadow;

namespace {

Config with_history(uint32_t versions) {
  Config c;
  c.history_versions = versions;
  c.tombstone_retention_s = 100;
  return c;
}

struct Fixture {
  // `config` is set before `service` copies it (members in declaration order).
  explicit Fixture(uint32_t versions = 3) : config(with_history(versions)) {}
  ServiceResponse mqtt(const std::string& thing, const std::string& op, const std::string& payload,
                       const std::string& client = "dev-1", const std::string& shadow = "") {
    ServiceRequest r = *service.mqtt_request(
        "$aws/things/" + thing + "/shadow/" + (shadow.empty() ? "" : "name/" + shadow + "/") + op, payload, now);
    r.identity = client;
    return service.handle(r);
  }
  ServiceResponse rest_update(const std::string& thing, const std::string& payload, const std::string& key) {
    ServiceRequest r;
    r.channel = Channel::kRest;
    r.op = Operation::kUpdate;
    r.id = ShadowId{thing, ""};
    r.payload = payload;
    r.now = now;
    r.identity = key;
    return service.handle(r);
  }
  // The versions of the history entries of a shadow, oldest first.
  std::vector<uint64_t> versions(const std::string& thing, const std::string& shadow = "") {
    std::vector<Item> items;
    bool more = false;
    REQUIRE(store.list_items(history::kSpace, history::prefix(thing, shadow), "", 1000, &items, &more).is_ok());
    std::vector<uint64_t> out;
    for (const Item& i : items) out.push_back(*history::version_of_key(i.key));
    return out;
  }
  json::Document read(const std::string& thing, std::optional<std::string> from = std::nullopt,
                      std::optional<std::string> size = std::nullopt, int status = 200) {
    ServiceResponse r = service.history(thing, "", from, size, now);
    INFO(r.body);
    REQUIRE(r.status == status);
    json::Document d;
    REQUIRE(json::parse(r.body, &d));
    return d;
  }

  Config config;
  MemoryStore store;
  Service service{config, store};
  int64_t now = 1700000000;
};

}  // namespace

TEST_CASE("history: each update is an entry with its state, metadata and writer", "[history]") {
  Fixture f;
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"temp":20}},"clientToken":"c1"})").ok());
  f.now += 5;
  REQUIRE(f.rest_update("t", R"({"state":{"desired":{"temp":22}}})", "AKIDEXAMPLE").ok());
  json::Document d = f.read("t");
  const auto& r = d["results"];
  REQUIRE(r.Size() == 2);
  CHECK(r[0]["version"].GetDouble() == 1);
  CHECK(r[0]["timestamp"].GetDouble() == 1700000000);
  CHECK(std::string(r[0]["operation"].GetString()) == "update");
  CHECK(std::string(r[0]["channel"].GetString()) == "mqtt");
  CHECK(std::string(r[0]["identity"].GetString()) == "dev-1");
  CHECK(std::string(r[0]["clientToken"].GetString()) == "c1");
  CHECK(r[0]["state"]["reported"]["temp"].GetDouble() == 20);
  CHECK(r[0]["metadata"]["reported"]["temp"]["timestamp"].GetDouble() == 1700000000);
  CHECK(r[1]["version"].GetDouble() == 2);
  CHECK(std::string(r[1]["channel"].GetString()) == "rest");
  CHECK(std::string(r[1]["identity"].GetString()) == "AKIDEXAMPLE");
  CHECK_FALSE(r[1].HasMember("clientToken"));
  CHECK(r[1]["state"]["desired"]["temp"].GetDouble() == 22);
  CHECK(r[1]["state"]["reported"]["temp"].GetDouble() == 20);  // the whole document of that version
  CHECK_FALSE(d.HasMember("nextVersion"));
}

TEST_CASE("history: only the newest N versions are kept, in the same write", "[history]") {
  Fixture f(3);
  for (int i = 1; i <= 7; ++i) REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":)" + std::to_string(i) + "}}}").ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{5, 6, 7});
  // Named shadows have their own history.
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"x":1}}})", "dev-1", "cfg").ok());
  CHECK(f.versions("t", "cfg") == std::vector<uint64_t>{1});
  // A lower N: the entry falling out of it goes at once, older ones within
  // the next kSweepEvery writes of the shadow.
  Config smaller = f.config;
  smaller.history_versions = 1;
  Service s2(smaller, f.store);
  REQUIRE(s2.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"n":8}}})", f.now)->ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{5, 6, 8});
  for (int v = 9; v <= 16; ++v)
    REQUIRE(s2.handle_mqtt("$aws/things/t/shadow/update", R"({"state":{"reported":{"n":1}}})", f.now)->ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{16});
}

TEST_CASE("history: deletes, re-creation, and the purge after the tombstone retention", "[history]") {
  Fixture f(5);
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":1}}})").ok());
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":2}}})").ok());
  f.now += 10;
  REQUIRE(f.mqtt("t", "delete", "{\"clientToken\":\"bye\"}", "admin").ok());
  json::Document d = f.read("t");
  REQUIRE(d["results"].Size() == 3);
  CHECK(d["results"][2]["version"].GetDouble() == 3);
  CHECK(std::string(d["results"][2]["operation"].GetString()) == "delete");
  CHECK(std::string(d["results"][2]["identity"].GetString()) == "admin");
  CHECK_FALSE(d["results"][2].HasMember("state"));

  // Re-created within the retention: versions (and history) continue.
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":3}}})").ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{1, 2, 3, 4});
  size_t purged = 99;
  f.now += 1000;
  REQUIRE(f.service.purge_history(f.now, 10, &purged).is_ok());
  CHECK(purged == 0);  // not a tombstone any more: its history stays
  CHECK(f.versions("t") == std::vector<uint64_t>{1, 2, 3, 4});

  // Deleted for good: the history goes once the retention has passed, not before.
  REQUIRE(f.mqtt("t", "delete", "").ok());
  REQUIRE(f.service.purge_history(f.now + 99, 10, &purged).is_ok());
  CHECK(purged == 0);
  CHECK(f.versions("t") == std::vector<uint64_t>{1, 2, 3, 4, 5});
  REQUIRE(f.service.purge_history(f.now + 100, 10, &purged).is_ok());
  CHECK(purged == 1);
  CHECK(f.versions("t").empty());
  std::vector<Item> queue;
  bool more = false;
  REQUIRE(f.store.list_items(history::kPurgeSpace, "", "", 10, &queue, &more).is_ok());
  CHECK(queue.empty());
  f.read("t", std::nullopt, std::nullopt, 404);
}

TEST_CASE("history: a shadow re-created after its tombstone expired starts a new history", "[history]") {
  Fixture f(5);
  for (int i = 0; i < 3; ++i) REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":1}}})").ok());
  REQUIRE(f.mqtt("t", "delete", "").ok());
  f.now += 1000;  // past the retention, before any purge ran
  REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":9}}})").ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{1});
  json::Document d = f.read("t");
  CHECK(d["results"][0]["state"]["reported"]["n"].GetDouble() == 9);
  // The queued purge of the old incarnation leaves the new one alone.
  size_t purged = 0;
  REQUIRE(f.service.purge_history(f.now + 1000, 10, &purged).is_ok());
  CHECK(f.versions("t") == std::vector<uint64_t>{1});
}

TEST_CASE("history: paging, bad parameters, off, unknown shadows", "[history]") {
  Fixture f(10);
  for (int i = 0; i < 7; ++i) REQUIRE(f.mqtt("t", "update", R"({"state":{"reported":{"n":1}}})").ok());
  json::Document p1 = f.read("t", std::nullopt, std::string("3"));
  REQUIRE(p1["results"].Size() == 3);
  CHECK(p1["results"][0]["version"].GetDouble() == 1);
  CHECK(p1["nextVersion"].GetDouble() == 4);
  json::Document p3 = f.read("t", std::string("7"), std::string("3"));
  REQUIRE(p3["results"].Size() == 1);
  CHECK_FALSE(p3.HasMember("nextVersion"));
  CHECK(f.read("t", std::string("8"))["results"].Size() == 0);
  f.read("t", std::string("x"), std::nullopt, 400);
  f.read("t", std::nullopt, std::string("0"), 400);
  f.read("t", std::nullopt, std::string("101"), 400);
  f.read("never", std::nullopt, std::nullopt, 404);
  CHECK(f.service.history("bad name!", "", std::nullopt, std::nullopt, f.now).status == 400);

  Fixture off(0);
  REQUIRE(off.mqtt("t", "update", R"({"state":{"reported":{"n":1}}})").ok());
  CHECK(off.versions("t").empty());
  ServiceResponse r = off.service.history("t", "", std::nullopt, std::nullopt, off.now);
  CHECK(r.status == 400);
  CHECK(r.body.find("plugin_opt_history_versions") != std::string::npos);
  // History switched on later: a shadow without entries yet reads as empty.
  Config on = off.config;
  on.history_versions = 2;
  Service s2(on, off.store);
  ServiceResponse empty = s2.history("t", "", std::nullopt, std::nullopt, off.now);
  CHECK(empty.status == 200);
  CHECK(empty.body.find("\"results\":[]") != std::string::npos);
}

namespace {

// A store that has dropped expired tombstones by itself (RocksDbStore's
// compaction filter does, with plugin_opt_tombstone_retention_s): get()
// finds nothing where the tombstone was.
class DroppingTombstones : public ForwardingStore {
 public:
  Status get(const StoreKey& k, ShadowRecord* out) override {
    Status s = ForwardingStore::get(k, out);
    if (s.is_ok() && out->deleted && dropped) return Status::not_found();
    return s;
  }
  bool dropped = false;
};

}  // namespace

TEST_CASE("history: purged also when the store dropped the expired tombstone first", "[history]") {
  DroppingTombstones store;
  Service service(with_history(5), store);
  int64_t now = 1700000000;
  auto mqtt = [&](const std::string& op, const std::string& payload) {
    ServiceResponse r = service.handle(*service.mqtt_request("$aws/things/t/shadow/" + op, payload, now));
    INFO(r.body);
    REQUIRE(r.ok());
  };
  mqtt("update", R"({"state":{"reported":{"n":1}}})");
  mqtt("update", R"({"state":{"reported":{"n":2}}})");
  mqtt("delete", "");
  store.dropped = true;
  size_t purged = 0;
  REQUIRE(service.purge_history(now + 100, 10, &purged).is_ok());
  CHECK(purged == 1);
  std::vector<Item> items;
  bool more = false;
  REQUIRE(store.list_items(history::kSpace, history::prefix("t", ""), "", 10, &items, &more).is_ok());
  CHECK(items.empty());
  REQUIRE(store.list_items(history::kPurgeSpace, "", "", 10, &items, &more).is_ok());
  CHECK(items.empty());
}
