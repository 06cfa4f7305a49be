// Fleet updates (plugin/fleet/fleet_update.h) without a broker: chunks of
// at most `batch` shadows per step, ordinary update events per matching
// shadow, progress, cancellation, idempotent ids, bad requests, and resuming
// after a restart exactly where the progress record says.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plugin/fleet/fleet_update.h"
#include "plugin/runtime/pipeline.h"
#include "forwarding_store.h"
#include "recording_output.h"
#include "shadow_core/json.h"
#include "store/memory_store.h"

using namespace shadow;
using namespace shadow::fleet;

namespace {

struct Fixture {
  explicit Fixture(int batch = 10) : batch(batch) {
    for (int i = 0; i < 25; ++i) {
      std::string thing = (i % 5 == 0 ? "pump-" : "line-7-") + std::to_string(100 + i);
      REQUIRE(service.handle_mqtt("$aws/things/" + thing + "/shadow/update",
                                  R"({"state":{"reported":{"temp":)" + std::to_string(i) + "}}}", 1)
                  ->ok());
    }
  }
  std::unique_ptr<FleetUpdater> updater() {
    auto u = std::make_unique<FleetUpdater>(store, pipeline, out, nullptr, nullptr, batch);
    REQUIRE(u->load().is_ok());
    return u;
  }
  uint64_t version(const std::string& thing, const std::string& shadow = "") {
    ShadowRecord r;
    Status st = store.get({thing, shadow}, &r);
    return st.is_ok() ? r.version : 0;
  }
  json::Document record(FleetUpdater& u, const std::string& id) {
    FleetUpdater::Result r = u.describe(id);
    REQUIRE(r.outcome == FleetUpdater::Outcome::kExisting);
    json::Document d;
    REQUIRE(json::parse(r.body, &d));
    return d;
  }

  int batch;
  Config config;
  MemoryStore store;
  Service service{config, store};
  runtime::Metrics metrics;
  runtime::Pipeline pipeline{service, metrics, runtime::PipelineOptions{}};
  RecordingOutput out;
};

UpdateSpec spec(std::string id, std::string query, std::string state = R"({"desired":{"fan":"on"}})") {
  return UpdateSpec{std::move(id), std::move(query), "", std::move(state)};
}

size_t count_topic(const RecordingOutput& out, const std::string& suffix) {
  size_t n = 0;
  for (const OutMessage& m : out.messages)
    if (m.topic.starts_with("$aws/") && m.topic.ends_with(suffix)) ++n;
  return n;
}

}  // namespace

TEST_CASE("fleet update: chunks, events per matching shadow, progress", "[fleet][update]") {
  Fixture f(4);
  auto u = f.updater();
  FleetUpdater::Result created = u->create(spec("op-1", "thingName:line-7* AND shadow.reported.temp > 10"), 50);
  REQUIRE(created.outcome == FleetUpdater::Outcome::kCreated);
  // things line-7-111 .. line-7-124 except 115 and 120 (pumps): 12 matches.
  int steps = 0;
  while (u->step(60)) {
    ++steps;
    REQUIRE(steps < 100);
  }
  CHECK(steps >= 2);  // 12 matches at 4 per step
  json::Document d = f.record(*u, "op-1");
  CHECK(std::string(d["status"].GetString()) == "COMPLETED");
  CHECK(d["matched"].GetDouble() == 12);
  CHECK(d["updated"].GetDouble() == 12);
  CHECK(d["failed"].GetDouble() == 0);
  CHECK(d["completedAt"].GetDouble() == 60);
  for (int i = 0; i < 25; ++i) {
    std::string thing = (i % 5 == 0 ? "pump-" : "line-7-") + std::to_string(100 + i);
    INFO(thing);
    CHECK(f.version(thing) == (i % 5 != 0 && i > 10 ? 2u : 1u));
  }
  // Each updated shadow published an ordinary update: accepted, delta, documents, on both topic forms.
  CHECK(count_topic(f.out, "/update/delta") == 12);
  CHECK(count_topic(f.out, "/update/documents") == 12);
  CHECK(count_topic(f.out, "/update/accepted") == 12);
  for (const OutMessage& m : f.out.messages)
    if (m.topic.ends_with("/update/delta")) CHECK(m.payload.find("\"clientToken\":\"op-1\"") != std::string::npos);
  // A finished operation does nothing more.
  CHECK_FALSE(u->step(70));
}

TEST_CASE("fleet update: a named shadow target, reported state, rejections counted", "[fleet][update]") {
  Fixture f(100);
  auto u = f.updater();
  UpdateSpec s = spec("named", "thingName:pump-*", R"({"reported":{"mode":"eco"}})");
  s.shadow = "cfg";
  REQUIRE(u->create(s, 1).outcome == FleetUpdater::Outcome::kCreated);
  while (u->step(2)) {
  }
  CHECK(f.version("pump-100", "cfg") == 1);
  CHECK(f.version("pump-100") == 1);
  json::Document d = f.record(*u, "named");
  CHECK(d["updated"].GetDouble() == 5);
  CHECK(std::string(d["shadowName"].GetString()) == "cfg");

  // A state the engine refuses for one shadow: that shadow fails, the rest go on.
  REQUIRE(f.service.handle_mqtt("$aws/things/line-7-101/shadow/update",
                                R"({"state":{"reported":{"pad":")" + std::string(8000, 'y') + "\"}}}", 1)
              ->ok());
  REQUIRE(u->create(spec("big", "thingName:line-7-10*", R"({"desired":{"pad":")" + std::string(500, 'z') + "\"}}"), 3)
              .outcome == FleetUpdater::Outcome::kCreated);
  while (u->step(4)) {
  }
  d = f.record(*u, "big");
  CHECK(d["matched"].GetDouble() == 8);  // line-7-101..109 except the pump at 105
  CHECK(d["failed"].GetDouble() == 1);
  CHECK(d["updated"].GetDouble() == 7);
  CHECK(std::string(d["firstFailure"]["thingName"].GetString()) == "line-7-101");
  CHECK(d["firstFailure"]["code"].GetDouble() == 413);
}

TEST_CASE("fleet update: ids are idempotent; bad requests are refused before anything runs", "[fleet][update]") {
  Fixture f;
  auto u = f.updater();
  REQUIRE(u->create(spec("same", "thingName:pump-*"), 1).outcome == FleetUpdater::Outcome::kCreated);
  CHECK(u->create(spec("same", "thingName:pump-*", R"({ "desired" : {"fan":"on"} })"), 2).outcome ==
        FleetUpdater::Outcome::kExisting);
  CHECK(u->create(spec("same", "thingName:line-*"), 2).outcome == FleetUpdater::Outcome::kConflict);
  CHECK(u->create(spec("bad id!", "*"), 2).outcome == FleetUpdater::Outcome::kInvalid);
  CHECK(u->create(spec("q", "thingName:(a"), 2).outcome == FleetUpdater::Outcome::kInvalidQuery);
  CHECK(u->create(spec("q", "attributes.x:1"), 2).outcome == FleetUpdater::Outcome::kInvalidQuery);
  CHECK(u->create(spec("s", "*", R"({"desired":5})"), 2).outcome == FleetUpdater::Outcome::kInvalid);
  CHECK(u->create(spec("s", "*", R"({"delta":{}})"), 2).outcome == FleetUpdater::Outcome::kInvalid);
  CHECK(u->create(spec("s", "*", R"({})"), 2).outcome == FleetUpdater::Outcome::kInvalid);
  CHECK(u->create(spec("s", "*", R"({"desired":{"a":[null]}})"), 2).outcome == FleetUpdater::Outcome::kInvalid);
  UpdateSpec bad_shadow = spec("s", "*");
  bad_shadow.shadow = "no spaces";
  CHECK(u->create(bad_shadow, 2).outcome == FleetUpdater::Outcome::kInvalid);
  // A generated id.
  FleetUpdater::Result r = u->create(spec("", "thingName:pump-*"), 2);
  REQUIRE(r.outcome == FleetUpdater::Outcome::kCreated);
  std::string next;
  std::string listed = u->list("", 100, &next);
  CHECK(listed.find("\"operationId\":\"same\"") != std::string::npos);
  CHECK(next.empty());
  u->list("", 1, &next);
  CHECK_FALSE(next.empty());
}

TEST_CASE("fleet update: cancel stops it at once; finished ones can be removed", "[fleet][update]") {
  Fixture f(2);
  auto u = f.updater();
  REQUIRE(u->create(spec("c", "thingName:line-7*"), 1).outcome == FleetUpdater::Outcome::kCreated);
  REQUIRE(u->step(2));
  CHECK(u->remove("c").outcome == FleetUpdater::Outcome::kConflict);
  FleetUpdater::Result r = u->cancel("c", 3);
  REQUIRE(r.outcome == FleetUpdater::Outcome::kExisting);
  CHECK(r.body.find("\"status\":\"CANCELLED\"") != std::string::npos);
  CHECK_FALSE(u->step(4));
  json::Document d = f.record(*u, "c");
  CHECK(d["updated"].GetDouble() == 2);
  CHECK(u->cancel("c", 5).outcome == FleetUpdater::Outcome::kExisting);  // again: as it is
  CHECK(u->cancel("nope", 5).outcome == FleetUpdater::Outcome::kNotFound);
  REQUIRE(u->create(spec("done", "thingName:pump-100"), 6).outcome == FleetUpdater::Outcome::kCreated);
  while (u->step(7)) {
  }
  CHECK(u->cancel("done", 8).outcome == FleetUpdater::Outcome::kConflict);
  CHECK(u->remove("done").outcome == FleetUpdater::Outcome::kExisting);
  CHECK(u->describe("done").outcome == FleetUpdater::Outcome::kNotFound);
  // The cancellation survives a restart.
  auto again = f.updater();
  CHECK(std::string(f.record(*again, "c")["status"].GetString()) == "CANCELLED");
  CHECK_FALSE(again->step(9));
}

TEST_CASE("fleet update: a restarted broker resumes after the last updated thing", "[fleet][update]") {
  Fixture f(3);
  {
    auto u = f.updater();
    REQUIRE(u->create(spec("r", "thingName:line-7*"), 1).outcome == FleetUpdater::Outcome::kCreated);
    REQUIRE(u->step(2));
    REQUIRE(u->step(2));
    // "Crash": the updater goes away mid-operation.
  }
  auto u = f.updater();
  json::Document d = f.record(*u, "r");
  CHECK(std::string(d["status"].GetString()) == "RUNNING");
  CHECK(d["updated"].GetDouble() == 6);
  CHECK(std::string(d["lastThingName"].GetString()) == "line-7-107");
  while (u->step(3)) {
  }
  d = f.record(*u, "r");
  CHECK(std::string(d["status"].GetString()) == "COMPLETED");
  CHECK(d["updated"].GetDouble() == 20);
  // Every matching shadow exactly once.
  for (int i = 0; i < 25; ++i) {
    if (i % 5 == 0) continue;
    CHECK(f.version("line-7-" + std::to_string(100 + i)) == 2);
  }
}

namespace {

// A store whose put_item fails on demand: the end-of-chunk progress write is
// lost, as in a crash right after the chunk's shadow writes.
class LosingStore final : public ForwardingStore {
 public:
  bool lose_puts = false;
  Status put_item(std::string_view space, std::string_view key, std::string_view value, ItemWrite mode) override {
    if (lose_puts) return Status::io_error("lost");
    return inner_.put_item(space, key, value, mode);
  }
};

}  // namespace

TEST_CASE("fleet update: the progress is written with each shadow update", "[fleet][update]") {
  LosingStore store;
  Config config;
  Service service(config, store);
  runtime::Metrics metrics;
  runtime::Pipeline pipeline(service, metrics, runtime::PipelineOptions{});
  RecordingOutput out;
  for (int i = 0; i < 9; ++i)
    REQUIRE(service.handle_mqtt("$aws/things/t-" + std::to_string(i) + "/shadow/update",
                                R"({"state":{"reported":{"n":1}}})", 1)->ok());
  {
    FleetUpdater u(store, pipeline, out, nullptr, nullptr, 3);
    REQUIRE(u.load().is_ok());
    REQUIRE(u.create(spec("p", "thingName:t-*"), 1).outcome == FleetUpdater::Outcome::kCreated);
    store.lose_puts = true;
    REQUIRE(u.step(2));  // three shadow writes, each with its progress; the final put is lost
    store.lose_puts = false;
  }
  FleetUpdater u(store, pipeline, out, nullptr, nullptr, 3);
  REQUIRE(u.load().is_ok());
  FleetUpdater::Result r = u.describe("p");
  CHECK(r.body.find("\"updated\":3") != std::string::npos);
  CHECK(r.body.find("\"lastThingName\":\"t-2\"") != std::string::npos);
  while (u.step(3)) {
  }
  for (int i = 0; i < 9; ++i) {
    ShadowRecord rec;
    REQUIRE(store.get({"t-" + std::to_string(i), ""}, &rec).is_ok());
    CHECK(rec.version == 2);
  }
}
