// The HTTP server's pieces that need no socket (plugin/rest/head_checks.h,
// connection_limits.h, worker_pool.h): decisions from a request head,
// connection counting per client address, and the worker pool.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugin/rest/connection_limits.h"
#include "plugin/rest/head_checks.h"
#include "plugin/rest/worker_pool.h"

using shadow::rest::ConnectionLimits;
using shadow::rest::expects_continue;
using shadow::rest::HeaderList;
using shadow::rest::refuse_from_head;
using shadow::rest::WorkerPool;

TEST_CASE("http head: body framing and size are decided from the head", "[rest][http]") {
  const size_t max = 100;
  CHECK(refuse_from_head({}, max) == 0);
  CHECK(refuse_from_head({{"Content-Length", "100"}}, max) == 0);
  CHECK(refuse_from_head({{"content-length", " 7 "}}, max) == 0);
  CHECK(refuse_from_head({{"Content-Length", "5"}, {"Content-Length", "5"}}, max) == 0);
  CHECK(refuse_from_head({{"Transfer-Encoding", "chunked"}}, max) == 0);
  CHECK(refuse_from_head({{"transfer-encoding", "Chunked"}}, max) == 0);

  CHECK(refuse_from_head({{"Content-Length", "101"}}, max) == 413);
  CHECK(refuse_from_head({{"Content-Length", "104857600"}}, max) == 413);
  CHECK(refuse_from_head({{"Content-Length", "99999999999999999999999"}}, max) == 413);

  for (const char* bad : {"-5", "abc", "1 2", "0x10", "+3", "", "5,5"}) {
    INFO(bad);
    CHECK(refuse_from_head({{"Content-Length", bad}}, max) == 400);
  }
  CHECK(refuse_from_head({{"Content-Length", "3"}, {"Content-Length", "4"}}, max) == 400);
  CHECK(refuse_from_head({{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}, max) == 400);
  CHECK(refuse_from_head({{"Transfer-Encoding", "gzip"}}, max) == 400);
  CHECK(refuse_from_head({{"Transfer-Encoding", "gzip, chunked"}}, max) == 400);
  CHECK(refuse_from_head({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}, max) ==
        400);
}

TEST_CASE("http head: Expect 100-continue", "[rest][http]") {
  CHECK(expects_continue({{"Expect", "100-continue"}}));
  CHECK(expects_continue({{"expect", " 100-Continue "}}));
  CHECK_FALSE(expects_continue({}));
  CHECK_FALSE(expects_continue({{"Expect", "something-else"}}));
}

TEST_CASE("http connection limits: in total and per client address", "[rest][http]") {
  using Admission = ConnectionLimits::Admission;
  ConnectionLimits limits(/*total=*/5, /*per_address=*/2);
  CHECK(limits.admit("10.0.0.1") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.1") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.1") == Admission::kOverPerAddress);
  CHECK(limits.open_from("10.0.0.1") == 2);
  CHECK(limits.admit("10.0.0.2") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.3") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.3") == Admission::kAdmitted);
  CHECK(limits.open() == 5);
  // Full: even an address with room is refused.
  CHECK(limits.admit("10.0.0.4") == Admission::kOverTotal);
  limits.release("10.0.0.1");
  CHECK(limits.open() == 4);
  CHECK(limits.admit("10.0.0.4") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.1") == Admission::kOverTotal);
  limits.release("10.0.0.3");
  CHECK(limits.admit("10.0.0.1") == Admission::kAdmitted);
  CHECK(limits.admit("10.0.0.1") == Admission::kOverTotal);
  // Releasing an address that holds nothing changes nothing.
  limits.release("192.0.2.9");
  CHECK(limits.open() == 5);
  for (const char* a : {"10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) limits.release(a);
  CHECK(limits.open() == 0);
  CHECK(limits.open_from("10.0.0.1") == 0);

  ConnectionLimits unlimited_per_address(3, 0);
  for (int i = 0; i < 3; i++) CHECK(unlimited_per_address.admit("::1") == Admission::kAdmitted);
  CHECK(unlimited_per_address.admit("::1") == Admission::kOverTotal);
}

TEST_CASE("http worker pool: threads start on demand up to the limit", "[rest][http]") {
  WorkerPool pool(3);
  CHECK(pool.threads() == 0);
  // Jobs that block until released: each needs its own thread, up to 3.
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0}, finished{0};
  for (int i = 0; i < 5; i++) {
    REQUIRE(pool.submit([&] {
      started++;
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return release; });
      finished++;
    }));
  }
  // Bounded wait for the three threads to pick up a job each.
  for (int i = 0; i < 5000 && started < 3; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(started == 3);
  CHECK(pool.threads() == 3);
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 5000 && finished < 5; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(finished == 5);
  CHECK(pool.threads() == 3);
  pool.stop();
  CHECK_FALSE(pool.submit([] {}));
}

TEST_CASE("http worker pool: stop drops queued jobs and lets running ones finish", "[rest][http]") {
  WorkerPool pool(1);
  std::mutex m;
  std::condition_variable cv;
  bool running = false, release = false;
  std::atomic<int> ran{0};
  auto owned = std::make_shared<int>(7);  // a queued job's captures are released on stop
  REQUIRE(pool.submit([&] {
    {
      std::unique_lock<std::mutex> lock(m);
      running = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    ran++;
  }));
  REQUIRE(pool.submit([&ran, owned] { ran += 100; }));
  {
    std::unique_lock<std::mutex> lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return running; }));
  }
  std::thread stopper([&] { pool.stop(); });
  // Once submit is refused, stop() has begun (and dropped the queue); it
  // then waits for the running job. Jobs submitted before that are queued
  // behind the blocked one and dropped with it.
  bool refused = false;
  for (int i = 0; i < 10000 && !refused; i++) {
    refused = !pool.submit([&ran] { ran += 1000; });
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(refused);
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  CHECK(ran == 1);
  CHECK(owned.use_count() == 1);
}
