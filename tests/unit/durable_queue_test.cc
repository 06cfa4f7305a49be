// Durable mode's hold-back list (plugin/runtime/durable_queue.h): release
// order, tags that never decrease, and the reply address an entry keeps. The
// 500 answer built from that address is tested in pipeline_test.cc.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugin/runtime/durable_queue.h"

using shadow::runtime::DurableEntry;
using shadow::runtime::DurableQueue;
using shadow::OutMessage;
using shadow::ReplyAddress;

namespace {

OutMessage msg(std::string topic, std::string payload = "{}") {
  return OutMessage{std::move(topic), std::move(payload), 1, false};
}

// The address of an MQTT request on thing `t`.
std::optional<ReplyAddress> reply(std::string t) {
  ReplyAddress a;
  a.id.thing = std::move(t);
  return a;
}

std::vector<std::string> release_topics(DurableQueue& q, uint64_t durable) {
  std::vector<std::string> out;
  q.release(durable, [&](const DurableEntry& e) {
    for (const OutMessage& m : e.messages) out.push_back(m.topic);
  });
  return out;
}

}  // namespace

TEST_CASE("durable queue: releases head entries up to the durable sequence, in order",
          "[durable]") {
  DurableQueue q;
  CHECK(q.empty());
  CHECK(q.push(3, {msg("a/accepted"), msg("a/delta")}, reply("a")) == 3);
  CHECK(q.push(4, {msg("b/accepted")}, reply("b")) == 4);
  CHECK(q.push(7, {msg("c/accepted")}, reply("c")) == 7);
  CHECK(q.size() == 3);

  CHECK(release_topics(q, 2).empty());  // nothing durable yet
  CHECK(q.size() == 3);
  CHECK(release_topics(q, 4) == std::vector<std::string>{"a/accepted", "a/delta", "b/accepted"});
  CHECK(q.size() == 1);
  CHECK(release_topics(q, 6).empty());
  CHECK(release_topics(q, 7) == std::vector<std::string>{"c/accepted"});
  CHECK(q.empty());
}

TEST_CASE("durable queue: a smaller tag after a larger one waits for the larger", "[durable]") {
  // A get tagged 5 pushed after an update tagged 9 must not overtake it.
  DurableQueue q;
  CHECK(q.push(9, {msg("update/accepted")}, reply("u")) == 9);
  CHECK(q.push(5, {msg("get/accepted")}, reply("g")) == 9);
  CHECK(release_topics(q, 8).empty());
  CHECK(release_topics(q, 9) == std::vector<std::string>{"update/accepted", "get/accepted"});
}

TEST_CASE("durable queue: release stops at the first entry that must wait", "[durable]") {
  DurableQueue q;
  q.push(1, {msg("x")}, std::nullopt);
  q.push(10, {msg("y")}, std::nullopt);
  q.push(10, {msg("z")}, std::nullopt);
  CHECK(release_topics(q, 9) == std::vector<std::string>{"x"});
  std::vector<uint64_t> tags;
  size_t n = q.take_all([&](const DurableEntry& e) { tags.push_back(e.seq); });
  CHECK(n == 2);
  CHECK(tags == std::vector<uint64_t>{10, 10});
  CHECK(q.empty());
}

TEST_CASE("durable queue: concurrent producers keep non-decreasing tags and lose nothing",
          "[durable]") {
  // Producers tag with a shared counter read at push time, like the store's
  // sequence; the consumer releases as "durable" advances.
  DurableQueue q;
  std::atomic<uint64_t> seq{0};
  constexpr int kThreads = 4, kEach = 400;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; i++) {
        uint64_t s = seq.fetch_add(1) + 1;
        q.push(s, {msg(std::to_string(t) + "/" + std::to_string(i))}, reply("t"));
      }
    });
  }
  std::vector<uint64_t> tags;
  std::vector<std::vector<int>> per_thread(kThreads);
  while (tags.size() < size_t{kThreads} * kEach) {
    q.release(seq.load(), [&](const DurableEntry& e) {
      tags.push_back(e.seq);
      const std::string& t = e.messages[0].topic;
      size_t slash = t.find('/');
      per_thread[std::stoi(t.substr(0, slash))].push_back(std::stoi(t.substr(slash + 1)));
    });
    std::this_thread::yield();
  }
  for (auto& th : threads) th.join();
  CHECK(std::is_sorted(tags.begin(), tags.end()));
  CHECK(tags.back() <= seq.load());
  for (const auto& order : per_thread) {
    REQUIRE(order.size() == size_t{kEach});
    for (int i = 0; i < kEach; i++) CHECK(order[i] == i);  // each producer's order kept
  }
}

TEST_CASE("durable queue: an entry keeps the address of the request it answers", "[durable]") {
  DurableQueue q;
  q.push(1, {msg("t1/accepted")}, reply("t1"));
  q.push(2, {msg("events/only")}, std::nullopt);
  std::vector<std::string> things;
  q.take_all([&](const DurableEntry& e) { things.push_back(e.reply_to ? e.reply_to->id.thing : "-"); });
  CHECK(things == std::vector<std::string>{"t1", "-"});
}
