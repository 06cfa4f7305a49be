// Durable mode's hold-back list (plugin/runtime/durable_queue.h): release order,
// tags that never decrease, and the 500 reply that replaces a reply whose
// write could not be made durable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugin/runtime/durable_queue.h"
#include "shadow_core/json.h"

using shadow::plugin::DurableEntry;
using shadow::plugin::DurableQueue;
using shadow::plugin::internal_failure_reply;
using shadow::plugin::QueuedMessage;

namespace {

QueuedMessage msg(std::string topic, std::string payload = "{}") {
  return QueuedMessage{std::move(topic), std::move(payload), 1, false};
}

std::vector<std::string> release_topics(DurableQueue& q, uint64_t durable) {
  std::vector<std::string> out;
  q.release(durable, [&](const DurableEntry& e) {
    for (const QueuedMessage& m : e.messages) out.push_back(m.topic);
  });
  return out;
}

}  // namespace

TEST_CASE("durable queue: releases head entries up to the durable sequence, in order",
          "[durable]") {
  DurableQueue q;
  CHECK(q.empty());
  CHECK(q.push(3, {msg("a/accepted"), msg("a/delta")}, true) == 3);
  CHECK(q.push(4, {msg("b/accepted")}, true) == 4);
  CHECK(q.push(7, {msg("c/accepted")}, true) == 7);
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
  CHECK(q.push(9, {msg("update/accepted")}, true) == 9);
  CHECK(q.push(5, {msg("get/accepted")}, true) == 9);
  CHECK(release_topics(q, 8).empty());
  CHECK(release_topics(q, 9) == std::vector<std::string>{"update/accepted", "get/accepted"});
}

TEST_CASE("durable queue: release stops at the first entry that must wait", "[durable]") {
  DurableQueue q;
  q.push(1, {msg("x")}, false);
  q.push(10, {msg("y")}, false);
  q.push(10, {msg("z")}, false);
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
        q.push(s, {msg(std::to_string(t) + "/" + std::to_string(i))}, true);
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

TEST_CASE("durable queue: 500 reply on the /rejected topic with the clientToken", "[durable]") {
  QueuedMessage accepted = msg("$aws/things/t1/shadow/name/n1/update/accepted",
                               R"({"state":{"reported":{"a":1}},"version":3,"clientToken":"tok-7"})");
  auto r = internal_failure_reply(accepted, std::nullopt);
  REQUIRE(r);
  CHECK(r->topic == "$aws/things/t1/shadow/name/n1/update/rejected");
  CHECK(r->qos == 1);
  CHECK_FALSE(r->retain);
  shadow::json::Document doc;
  REQUIRE(shadow::json::parse(r->payload, &doc));
  CHECK(doc["code"].GetInt() == 500);
  CHECK(std::string(doc["message"].GetString()) == "Internal service failure");
  CHECK(std::string(doc["clientToken"].GetString()) == "tok-7");
  CHECK_FALSE(doc.HasMember("timestamp"));

  // A reply that was already a rejection, without token, with a timestamp.
  auto r2 = internal_failure_reply(msg("t2/shadow/get/rejected", R"({"code":404,"message":"x"})"),
                                   int64_t{1700000000});
  REQUIRE(r2);
  CHECK(r2->topic == "t2/shadow/get/rejected");
  REQUIRE(shadow::json::parse(r2->payload, &doc));
  CHECK(doc["code"].GetInt() == 500);
  CHECK_FALSE(doc.HasMember("clientToken"));
  CHECK(doc["timestamp"].GetInt64() == 1700000000);

  CHECK_FALSE(internal_failure_reply(msg("$aws/things/t1/shadow/update/delta"), std::nullopt));
  CHECK_FALSE(internal_failure_reply(msg("noslash"), std::nullopt));
}
