// A connect/disconnect storm: N clients that connect, subscribe to their
// shadow's update/delta (as devices do), stay for a moment and drop their
// connection (no DISCONNECT, as devices losing their network do), over and
// over, on one thread. It loads the broker's connection handling
// and, with presence on, the lifecycle events and presence writes of every
// connect and disconnect (docs/benchmarks/presence.md).
//
// The clients speak just enough MQTT 3.1.1 over raw non-blocking sockets
// (CONNECT, CONNACK, SUBSCRIBE) to stay cheap: the storm shares the machine with the
// broker it measures.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace loadgen {

struct StormConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  int clients = 1000;
  int hold_ms = 50;                  // connected time before the drop
  std::string client_prefix = "storm";  // client ids <prefix>-<i>: valid thing names
};

class ConnectionStorm {
 public:
  ConnectionStorm() = default;
  ~ConnectionStorm() { stop(); }
  ConnectionStorm(const ConnectionStorm&) = delete;
  ConnectionStorm& operator=(const ConnectionStorm&) = delete;

  void start(const StormConfig& config);
  void stop();

  // Connections accepted (CONNACK 0) and attempts that failed, so far.
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // CPU seconds the storm's thread used (known once stopped).
  double cpu_seconds() const { return cpu_s_.load(std::memory_order_relaxed); }

 private:
  void run(StormConfig config);

  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<double> cpu_s_{0};
};

}  // namespace loadgen
