// Throughput of the shadow engine (shadow::Service over the in-memory store),
// measured the way the MQTT plugin calls it: one handle_mqtt() per message,
// including topic parsing, request validation, merge, metadata, delta, the
// store round trip and every response and event document.
//
// The fleet holds kThings shadows, each ~1 KB of desired + reported state
// with 20 scalar leaves (some nested), created before timing starts. Each
// iteration addresses the next thing in turn with a strictly increasing
// `now`, so every write is a real change with fresh timestamps.
//
// Run: build-bench/tools/engine_bench (see docs/benchmarks/engine.md).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shadow_core/delta.h"
#include "shadow_core/document.h"
#include "shadow_core/service.h"
#include "store/memory_store.h"

namespace {

using shadow::Config;
using shadow::MemoryStore;
using shadow::Service;

constexpr int kThings = 1000;
// Payload variants per benchmark. Prime, so thing i does not see the same
// values on consecutive visits (kThings is not a multiple of it).
constexpr int kVariants = 17;
constexpr int64_t kStart = 1700000000;

std::string format(const char* fmt, int v) {
  char buf[2048];
  int n = std::snprintf(buf, sizeof buf, fmt, v, v, v, v, v, v, v, v);
  return std::string(buf, static_cast<size_t>(n));
}

// A thermostat-like device: 8 desired leaves, 12 reported leaves (20 in all,
// 8 of them nested), ~1 KB compact. Desired and reported disagree on a few
// leaves so the delta is not empty. %d is the variant number.
constexpr const char* kFullUpdate =
    R"({"state":{"desired":{"power":"on","mode":"comfort-schedule-weekday-with-eco-fallback",)"
    R"("targetTemperature":21.%d,"fanSpeed":3,)"
    R"("schedule":{"enabled":true,"start":"06:30:00+01:00","end":"22:15:00+01:00"},)"
    R"("displayMessage":"Welcome to meeting room 4.12 (north wing, second floor). Please keep )"
    R"(the windows closed while the air conditioning is running and report faults to facilities )"
    R"(on extension 4410 or through the building maintenance portal at https://facilities.example.com/rooms/4-12."},)"
    R"("reported":{"power":"on","mode":"comfort-schedule-weekend-with-eco-fallback",)"
    R"("temperature":22.%d,"humidity":4%d.25,"fanSpeed":2,)"
    R"("firmware":"thermostat-controller-firmware-2.14.7-stable+build.20240511.1432.gcc12-release",)"
    R"("battery":{"level":8%d,"charging":false,"health":"good - capacity 96 percent of design, )"
    R"(last calibrated 2024-04-02 by the maintenance service during the quarterly inspection"},)"
    R"("network":{"ssid":"warehouse-floor-2-access-point-east-wing-5ghz-band-b","rssi":-6%d,)"
    R"("ip":"10.42.17.2%d","mac":"f4:12:fa:9c:3b:7e"}}},)"
    R"("clientToken":"bench-full-%d"})";

// The common case: a device reports three changed leaves, one nested.
constexpr const char* kPartialUpdate =
    R"({"state":{"reported":{"temperature":22.%d,"humidity":4%d.5,"battery":{"level":7%d}}},)"
    R"("clientToken":"bench-partial-%d"})";

constexpr const char* kGet = R"({"clientToken":"bench-get-%d"})";

std::vector<std::string> variants(const char* fmt) {
  std::vector<std::string> out;
  for (int v = 0; v < kVariants; ++v) out.push_back(format(fmt, v));
  return out;
}

std::string thing_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench-thing-%04d", i);
  return buf;
}

// kThings shadows in a memory store, each created with the full document.
struct Fleet {
  MemoryStore store;
  Service service;
  std::vector<std::string> update_topics;
  std::vector<std::string> get_topics;
  int64_t now = kStart;

  explicit Fleet(Config config = Config{}) : service(std::move(config), store) {
    std::string doc = format(kFullUpdate, 0);
    for (int i = 0; i < kThings; ++i) {
      std::string prefix = "$aws/things/" + thing_name(i) + "/shadow/";
      update_topics.push_back(prefix + "update");
      get_topics.push_back(prefix + "get");
      auto r = service.handle_mqtt(update_topics.back(), doc, now);
      if (!r || !r->ok()) {
        std::fprintf(stderr, "engine_bench: creating %s failed: %s\n", update_topics.back().c_str(),
                     r ? r->body.c_str() : "not a shadow topic");
        std::abort();
      }
    }
    ++now;
  }

  // compact(desired) + compact(reported) of thing 0, for the report.
  double state_bytes() {
    shadow::ShadowRecord record;
    shadow::ShadowDocument doc;
    if (!store.get({thing_name(0), ""}, &record).is_ok() || !doc.load(record.document)) return 0;
    return static_cast<double>(doc.state_size());
  }
};

// Sends `payloads` round-robin to the topics, one message per iteration.
void run_requests(benchmark::State& state, Fleet& fleet, const std::vector<std::string>& topics,
                  const std::vector<std::string>& payloads) {
  size_t thing = 0, variant = 0, out_bytes = 0;
  for (auto _ : state) {
    auto r = fleet.service.handle_mqtt(topics[thing], payloads[variant], fleet.now++);
    if (!r || !r->ok()) {
      state.SkipWithError(r ? r->body.c_str() : "not a shadow topic");
      break;
    }
    for (const auto& m : r->messages) out_bytes += m.payload.size();
    benchmark::DoNotOptimize(r);
    if (++thing == topics.size()) thing = 0;
    if (++variant == payloads.size()) variant = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["state_bytes"] = fleet.state_bytes();
  state.counters["payload_bytes"] = static_cast<double>(payloads[0].size());
  state.counters["out_bytes/op"] =
      state.iterations() ? static_cast<double>(out_bytes) / static_cast<double>(state.iterations()) : 0;
}

// update: reported of 3 leaves changes (the usual device report).
void BM_UpdatePartial(benchmark::State& state) {
  auto fleet = std::make_unique<Fleet>();
  run_requests(state, *fleet, fleet->update_topics, variants(kPartialUpdate));
}

// The same with events on the $aws topics only (event_topics = aws): the
// default publishes /update/delta and /update/documents in both topic forms.
void BM_UpdatePartialAwsEventsOnly(benchmark::State& state) {
  Config config;
  config.event_topics = shadow::EventTopics::kAws;
  auto fleet = std::make_unique<Fleet>(config);
  run_requests(state, *fleet, fleet->update_topics, variants(kPartialUpdate));
}

// update: the whole 1 KB / 20-leaf desired + reported document each time.
void BM_UpdateFull(benchmark::State& state) {
  auto fleet = std::make_unique<Fleet>();
  run_requests(state, *fleet, fleet->update_topics, variants(kFullUpdate));
}

// get of the 1 KB document (load, delta, get/accepted).
void BM_Get(benchmark::State& state) {
  auto fleet = std::make_unique<Fleet>();
  run_requests(state, *fleet, fleet->get_topics, variants(kGet));
}

// compute_delta alone on a loaded document; the allocator's buffer is reused.
void BM_ComputeDelta(benchmark::State& state) {
  Fleet fleet;
  shadow::ShadowRecord record;
  shadow::ShadowDocument doc;
  if (!fleet.store.get({thing_name(0), ""}, &record).is_ok() || !doc.load(record.document)) {
    state.SkipWithError("cannot load the stored document");
    return;
  }
  static char buffer[16384];
  shadow::json::Allocator alloc(buffer, sizeof buffer);
  if (shadow::compute_delta(doc, alloc).empty()) {
    state.SkipWithError("the benchmark document has no delta");
    return;
  }
  for (auto _ : state) {
    alloc.Clear();
    shadow::Delta delta = shadow::compute_delta(doc, alloc);
    benchmark::DoNotOptimize(delta.state);
  }
  state.SetItemsProcessed(state.iterations());
}

// Parsing a stored snapshot into a ShadowDocument: the first step of every
// get and update, shown separately to help read the figures above.
void BM_LoadDocument(benchmark::State& state) {
  Fleet fleet;
  shadow::ShadowRecord record;
  if (!fleet.store.get({thing_name(0), ""}, &record).is_ok()) {
    state.SkipWithError("cannot read the stored document");
    return;
  }
  for (auto _ : state) {
    shadow::ShadowDocument doc;
    if (!doc.load(record.document)) {
      state.SkipWithError("cannot load the stored document");
      break;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["snapshot_bytes"] = static_cast<double>(record.document.size());
}

BENCHMARK(BM_UpdatePartial)->UseRealTime();
BENCHMARK(BM_UpdatePartialAwsEventsOnly)->UseRealTime();
BENCHMARK(BM_UpdateFull)->UseRealTime();
BENCHMARK(BM_Get)->UseRealTime();
BENCHMARK(BM_ComputeDelta)->UseRealTime();
BENCHMARK(BM_LoadDocument)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
