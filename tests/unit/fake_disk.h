// An fsync that a test can hold at a gate or make fail, for durable mode
// (plugin/runtime/group_commit.h) without a disk. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "common/status.h"

class FakeDisk {
 public:
  // The sync hook: counts the start, blocks while held, then fails with the
  // error set by fail_with() or succeeds.
  shadow::Status sync() {
    std::unique_lock<std::mutex> lock(mu_);
    started_++;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !hold_; });
    return error_.empty() ? shadow::Status::ok() : shadow::Status::io_error(error_);
  }
  void hold(bool on) {
    std::lock_guard<std::mutex> g(mu_);
    hold_ = on;
    cv_.notify_all();
  }
  void fail_with(std::string error) {
    std::lock_guard<std::mutex> g(mu_);
    error_ = std::move(error);
  }
  int started() {
    std::lock_guard<std::mutex> g(mu_);
    return started_;
  }
  // Waits (up to 10 s) until `n` fsyncs have started.
  bool wait_started(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int started_ = 0;
  std::string error_;
};
