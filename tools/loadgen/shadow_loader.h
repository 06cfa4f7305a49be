// Creates many shadows fast over MQTT: update requests at QoS 1 with a window
// of requests in flight, replies counted through wildcard subscriptions.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace loadgen {

struct LoaderConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  int64_t shadows = 100000;    // things ld-0 .. ld-<shadows-1>, classic shadow each
  int64_t first = 0;           // start at this index (resume a partial load)
  int shadow_bytes = 1000;     // size of each update request (the reported state)
  int inflight = 256;
  int qos = 1;
  std::string thing_prefix = "ld-";
  bool progress = true;        // progress bar on stderr
};

struct LoaderResult {
  std::string error;
  int64_t accepted = 0;
  int64_t rejected = 0;
  double seconds = 0;
  std::string first_rejection;
};

// Sends one update per shadow and waits for every reply (bounded: gives up
// when no reply arrives for 30 s). Stops early when *interrupted is set.
LoaderResult load_shadows(const LoaderConfig& cfg, const std::atomic<bool>* interrupted);

}  // namespace loadgen
