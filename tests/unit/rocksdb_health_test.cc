// The store after a background error of RocksDB (rocksdb_store.h,
// "Background errors"): reproduced for real by running this process out of
// file descriptors while the store switches to a new write-ahead log file.
// RocksDB calls that error fatal and never resumes by itself; the store must
// report it, recover once descriptors are free again, and lose nothing
// acknowledged.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "rocksdb_test_util.h"
#include "store/rocksdb/rocksdb_store.h"

namespace shadow {
namespace {

using testing::TempDir;

// Lowers the soft descriptor limit to a little above what is in use and
// fills the table up; gives everything back when destroyed.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    size_t open_now = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++open_now;
    rlimit low = saved_;
    low.rlim_cur = open_now + 32;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int i = 0; i < 4096; ++i) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fds_.push_back(fd);
    }
    REQUIRE(::open("/dev/null", O_RDONLY | O_CLOEXEC) < 0);  // full
  }
  ~DescriptorExhaustion() { release(); }
  void release() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
};

struct Events {
  std::mutex mu;
  std::vector<StoreHealthEvent> seen;
  std::vector<StoreHealthEvent> copy() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

}  // namespace

TEST_CASE("rocksdb health: out of file descriptors, the store fails, reports it and recovers",
          "[rocksdb][health]") {
  TempDir dir;
  RocksDbOptions o;
  o.path = dir.db();
  o.write_buffer_size = 64 << 10;  // a new log file every ~64 KiB of writes
  // The first attempt waits this long: long enough for the checks right
  // after the failure, short for the test.
  o.recovery_backoff_min = std::chrono::milliseconds(300);
  o.recovery_backoff_max = std::chrono::milliseconds(600);
  auto store = testing::open_or_fail(o);
  Events events;
  store->set_health_listener([&events](const StoreHealthEvent& e) {
    std::lock_guard<std::mutex> lock(events.mu);
    events.seen.push_back(e);
  });
  REQUIRE(store->health().is_ok());

  const std::string pad(1000, 'x');
  std::vector<int> acknowledged;
  int failures = 0;
  int other_errors = 0;
  std::optional<Status> first_failure, health_after_failure;
  {
    // No Catch2 assertion while the descriptors are gone: the sanitizer
    // runtime behind one (UBSan's type check) needs a descriptor itself and
    // would report a false error.
    DescriptorExhaustion exhausted;
    // Bounded: 64 KiB buffers fill within a hundred writes. (The store's
    // own recovery may win back the descriptors its close frees and fail
    // again later: more than one incident is possible, and fine.)
    for (int i = 0; i < 2000; ++i) {
      Status s = store->compare_and_set({"t" + std::to_string(i), ""}, std::nullopt, testing::live_record(1, pad));
      if (s.is_ok()) {
        acknowledged.push_back(i);
        continue;
      }
      if (s.code() != Status::Code::kIoError) other_errors++;
      if (failures++ == 0) {
        first_failure = s;
        // RocksDB reported the error before the write returned.
        health_after_failure = store->health();
      }
    }
  }
  CHECK(other_errors == 0);
  REQUIRE(failures > 0);
  INFO("first failure: " << first_failure->message());
  CHECK(health_after_failure->code() == Status::Code::kUnavailable);
  CHECK_THAT(health_after_failure->message(), Catch::Contains("Too many open files"));

  // Descriptors are back: within a bounded time the store recovers by itself.
  bool recovered = false;
  for (int i = 0; i < 1000 && !recovered; ++i) {  // up to ~20 s
    recovered = store->health().is_ok();
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(recovered);
  Status after = store->compare_and_set({"after", ""}, std::nullopt, testing::live_record(1, "a"));
  INFO(after.message());
  REQUIRE(after.is_ok());
  // Nothing acknowledged was lost.
  for (int i : acknowledged) {
    ShadowRecord r;
    INFO(i);
    REQUIRE(store->get({"t" + std::to_string(i), ""}, &r).is_ok());
    CHECK(r.document == pad);
  }
  // Told that it failed (with RocksDB's reason), then that it recovered;
  // once per incident.
  std::vector<StoreHealthEvent> seen = events.copy();
  REQUIRE(seen.size() >= 2);
  REQUIRE(seen.size() % 2 == 0);
  for (size_t i = 0; i < seen.size(); ++i) {
    INFO(i << ": " << seen[i].detail);
    CHECK(seen[i].healthy == (i % 2 == 1));
    CHECK_THAT(seen[i].detail, Catch::Contains(i % 2 == 0 ? "Too many open files" : "recovered after"));
  }
  store->set_health_listener(nullptr);
}

}  // namespace shadow
