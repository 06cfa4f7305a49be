// The hand-over queue to the broker thread (plugin/runtime/publish_queue.h).
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "plugin/runtime/publish_queue.h"

using shadow::OutMessage;
using shadow::runtime::LogLevel;
using shadow::runtime::PublishQueue;

TEST_CASE("publish queue: take_all returns everything in push order", "[runtime]") {
  PublishQueue q;
  CHECK(q.empty());
  q.push({{"a", "1", 1, false}, {"b", "2", 0, true}});
  q.push({});
  q.push_log(LogLevel::kWarning, "w");
  q.push({{"c", "3", 1, false}});
  CHECK(q.depth() == 3);
  CHECK_FALSE(q.empty());

  PublishQueue::Batch b = q.take_all();
  REQUIRE(b.messages.size() == 3);
  CHECK(b.messages[0].topic == "a");
  CHECK(b.messages[1].topic == "b");
  CHECK(b.messages[1].retain);
  CHECK(b.messages[1].qos == 0);
  CHECK(b.messages[2].payload == "3");
  REQUIRE(b.logs.size() == 1);
  CHECK(b.logs[0].level == LogLevel::kWarning);
  CHECK(q.depth() == 0);
  CHECK(q.empty());
  CHECK(q.take_all().empty());
}

TEST_CASE("publish queue: concurrent producers lose nothing and keep their own order", "[runtime]") {
  PublishQueue q;
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&q, t] {
      for (int i = 0; i < kEach; i++)
        q.push({{std::to_string(t), std::to_string(i), 1, false}});
    });
  }
  std::vector<OutMessage> all;
  while (all.size() < kThreads * kEach) {  // drain while they push, like TICK does
    auto b = q.take_all();
    for (auto& m : b.messages) all.push_back(std::move(m));
    if (b.messages.empty()) std::this_thread::yield();
  }
  for (auto& th : threads) th.join();
  CHECK(all.size() == kThreads * kEach);
  std::vector<int> next(kThreads, 0);
  for (const auto& m : all) {
    int t = std::stoi(m.topic);
    CHECK(std::stoi(m.payload) == next[t]);
    next[t]++;
  }
}
