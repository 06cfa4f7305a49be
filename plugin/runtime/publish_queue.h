// Hand-over from the HTTP worker threads to the broker thread.
//
// Broker functions (mosquitto_broker_publish, mosquitto_log_printf, ...) may
// only be called on the broker's thread (research mosquitto-plugin.md §6,
// §12). REST requests therefore push the MQTT messages they cause, and their
// log lines, onto this queue; the broker thread takes everything on its next
// TICK or MESSAGE event and publishes it in push order.
//
// Ordering between REST and MQTT writers of one shadow: a REST worker holds
// the shadow's OrderingLocks stripe around (service call + push), and the
// broker thread takes the same stripe, drains the queue, then handles its own
// request. So whichever request the engine applied first also has its events
// published first. The locks cover only engine and database work, never HTTP
// I/O, so the broker thread never waits on a slow HTTP client.
//
// Pure code: no broker headers.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "shadow_core/topic.h"

namespace shadow::plugin {

struct QueuedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

enum class LogLevel { kInfo, kWarning, kError };

struct QueuedLog {
  LogLevel level = LogLevel::kInfo;
  std::string text;
};

class PublishQueue {
 public:
  // Above this many waiting messages, REST requests that would publish are
  // refused (503) instead of growing the queue without bound.
  static constexpr size_t kSoftLimit = 100000;

  // Called after every push, outside the queue's lock: wakes the broker
  // thread. Set before the first push; may be left empty.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  void push(std::vector<QueuedMessage> messages);
  void push_log(LogLevel level, std::string text);

  struct Batch {
    std::vector<QueuedMessage> messages;
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
  std::deque<QueuedMessage> messages_;
  std::deque<QueuedLog> logs_;
  std::atomic<size_t> depth_{0};
  std::atomic<size_t> pending_{0};
  std::function<void()> wake_;
};

// Striped mutexes keyed by shadow: requests on one shadow serialize, requests
// on different shadows rarely contend.
class OrderingLocks {
 public:
  std::mutex& for_shadow(const ShadowId& id);

 private:
  static constexpr size_t kStripes = 64;
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace shadow::plugin
