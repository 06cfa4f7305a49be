// The baseline's stand-in for a shadow service without a plugin: one external
// MQTT client that answers every request by republishing its payload (and so
// its clientToken) to <request topic>/accepted. It does no shadow work at
// all, so the comparison is flattering to the baseline. With `events`, it
// also republishes each update to /update/delta and /update/documents, so the
// broker carries the same messages as with the plugin.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace loadgen {

class EchoResponder {
 public:
  EchoResponder();
  ~EchoResponder();

  // Connects, subscribes to $aws/things/+/shadow/update and .../get at `qos`
  // and starts answering on its own thread. Returns "" or an error.
  std::string start(const std::string& host, int port, int qos, bool events);
  // Stops the thread and disconnects.
  void stop();

  uint64_t answered() const { return answered_.load(); }
  // CPU seconds of the responder thread: so far while it runs, in total after stop().
  double cpu_seconds() const;

 private:
  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> answered_{0};
  std::atomic<double> cpu_s_{0};
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loadgen
