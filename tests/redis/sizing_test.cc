// Not a test: measures how much Redis memory a shadow costs, for the sizing
// table in docs/scale-out.md. Hidden; run it by hand:
//   tests/redis/with-cluster.sh -- build/tests/redis/redis_cluster_tests "[.sizing]"
#include <catch2/catch.hpp>

#include <atomic>
#include <sstream>
#include <thread>

#include "store/redis/redis_store.h"
#include "test_cluster.h"

namespace shadow {
namespace {

using redis_test::TestCluster;

// used_memory summed over the masters.
long long used_memory() {
  long long total = 0;
  for (int port : TestCluster::get().ports()) {
    if (!TestCluster::get().is_master(port)) continue;
    redis::Reply r = TestCluster::get().command(port, {"INFO", "memory"});
    std::istringstream lines(r.str);
    std::string line;
    while (std::getline(lines, line))
      if (line.rfind("used_memory:", 0) == 0) total += atoll(line.c_str() + 12);
  }
  return total;
}

// A stored record of about `bytes` bytes, shaped like the engine's: state
// and metadata with a timestamp per leaf.
std::string document(size_t bytes, int n) {
  std::string state = "{\"reported\":{", meta = "{\"reported\":{";
  for (int i = 0; state.size() + meta.size() < bytes - 60; ++i) {
    std::string k = "\"sensor" + std::to_string(i) + "\":";
    state += (i ? "," : "") + k + std::to_string(20 + (n + i) % 10) + "." + std::to_string(i % 10);
    meta += (i ? "," : "") + k + "{\"timestamp\":" + std::to_string(1700000000 + n) + "}";
  }
  return "{\"state\":" + state + "}},\"metadata\":" + meta + "}},\"version\":1}";
}

void measure(const char* label, size_t count, size_t doc_bytes, int named_per_thing) {
  auto store = TestCluster::get().open_store();
  long long before = used_memory();
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};  // Catch2 assertions are not for other threads
  const int kThreads = 4;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < count; i += kThreads) {
        ShadowRecord r;
        r.version = 1;
        r.document = document(doc_bytes, static_cast<int>(i));
        std::string thing = "sizing-" + std::to_string(i / static_cast<size_t>(named_per_thing + 1));
        int k = static_cast<int>(i % static_cast<size_t>(named_per_thing + 1));
        std::string name = k == 0 ? "" : "shadow-" + std::to_string(k);
        if (!store->compare_and_set({thing, name}, std::nullopt, r).is_ok()) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(failed == 0);
  long long after = used_memory();
  WARN(label << ": " << count << " shadows of " << document(doc_bytes, 0).size() << " B documents: "
             << (after - before) / static_cast<long long>(count) << " B of Redis memory per shadow (masters only; "
             << "replicas hold as much again)");
}

}  // namespace

TEST_CASE("redis sizing: memory per shadow", "[.sizing]") {
  measure("classic shadows only", 30000, 1024, 0);
  measure("one classic + 3 named per thing", 30000, 1024, 3);
  measure("classic shadows, 4 KB", 10000, 4096, 0);
}

}  // namespace shadow
