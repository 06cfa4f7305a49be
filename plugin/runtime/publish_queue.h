// Hand-over from the HTTP worker threads to the broker thread.
//
// Broker functions (mosquitto_broker_publish, mosquitto_log_printf, ...) may
// only be called on the broker's thread: Mosquitto 2.0 has no locking around
// its message routing or its log. REST requests therefore push the MQTT
// messages they cause, and their log lines, onto this queue; the broker
// thread takes everything on its next TICK or MESSAGE event and publishes it
// in push order. The pipeline (pipeline.h) pushes while it holds the
// shadow's lock, which is what keeps events in apply order.
//
// Pure code: no broker headers.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "shadow_core/service.h"

namespace shadow::runtime {

enum class LogLevel { kInfo, kNotice, kWarning, kError };

struct QueuedLog {
  LogLevel level = LogLevel::kInfo;
  std::string text;
};

class PublishQueue {
 public:
  // Above this many waiting messages, REST requests that would publish are
  // refused (503) instead of growing the queue without bound.
  static constexpr size_t kSoftLimit = 100000;

  void push(std::vector<OutMessage> messages);
  void push_log(LogLevel level, std::string text);

  struct Batch {
    std::vector<OutMessage> messages;
    std::vector<QueuedLog> logs;
    bool empty() const { return messages.empty() && logs.empty(); }
  };
  // Everything pushed so far, in push order; the queue is left empty.
  Batch take_all();

  // Messages waiting (logs not counted).
  size_t depth() const { return depth_.load(std::memory_order_relaxed); }
  // Whether anything, message or log line, is waiting: a cheap check that
  // lets the broker thread skip the lock when idle.
  bool empty() const { return pending_.load(std::memory_order_relaxed) == 0; }
  bool has_room() const { return depth() < kSoftLimit; }

 private:
  std::mutex mu_;
  std::deque<OutMessage> messages_;
  std::deque<QueuedLog> logs_;
  std::atomic<size_t> depth_{0};
  std::atomic<size_t> pending_{0};
};

}  // namespace shadow::runtime
