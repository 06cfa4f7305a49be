// Cluster mode: the store's health, checked in the background, so that
// /healthz answers at once (a check talks to every Redis master) and the
// log says when the cluster becomes unreachable or reachable again, once per
// change rather than once per failed request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace shadow::cluster {

class HealthWatch {
 public:
  // `check` runs on the watch's thread every `interval`; `changed` is called
  // there with the new status after the first check and whenever the
  // status goes from OK to an error or back (or its message changes).
  HealthWatch(std::function<Status()> check, std::function<void(const Status& now, bool first)> changed,
              std::chrono::milliseconds interval);
  // Stops the thread (waits for a running check).
  ~HealthWatch();
  HealthWatch(const HealthWatch&) = delete;
  HealthWatch& operator=(const HealthWatch&) = delete;

  void start();
  // The last result; kUnavailable "not checked yet" before the first.
  Status current() const;

 private:
  void run();

  std::function<Status()> check_;
  std::function<void(const Status&, bool)> changed_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool checked_ = false;
  Status current_;
  std::thread thread_;
};

}  // namespace shadow::cluster
