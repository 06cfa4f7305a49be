// One load run: N connections, each keeping W shadow requests in flight
// against one broker, plus event subscribers; latency is measured by matching
// each reply's clientToken to its request.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "tools/loadgen/histogram.h"

namespace loadgen {

struct RunConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  int connections = 20;
  int inflight = 10;         // requests in flight per connection
  int mix_update = 100;      // update:get ratio
  int mix_get = 0;
  int payload_bytes = 500;   // size of an update request
  int qos = 1;
  int things = 0;            // distinct things; 0 = one per connection
  double warmup_s = 1;
  double duration_s = 10;    // measured time after the warm-up
  int64_t max_requests = 0;  // stop after this many requests (0 = no limit)
  double rate = 0;           // total requests/s, open loop; 0 = closed loop
  // Clients subscribed to update/delta and update/documents; -1 = one per
  // thing (like devices watching their own shadow), at most kMaxAutoSubscribers.
  int event_subscribers = -1;
  int threads = 2;           // event-loop threads for the connections
  std::string thing_prefix = "lg-";
  // Thing i is named <thing_prefix><i * thing_step>, so a sample of a large
  // fleet (e.g. every 10th of shadow_loader's things) can be addressed.
  int64_t thing_step = 1;
  // Before the run, give every thing a desired state that is never reported,
  // so each update publishes a delta. Off for get-only runs on loaded fleets.
  bool seed = true;
  std::string client_prefix = "shadow-loadgen";
};

constexpr int kMaxAutoSubscribers = 100;

// The number of event subscribers `cfg` asks for, with -1 resolved.
int event_subscriber_count(const RunConfig& cfg);
// The number of distinct things, with 0 resolved.
int thing_count(const RunConfig& cfg);

struct RunResult {
  std::string error;          // set when the run could not be done at all
  uint64_t sent = 0;          // requests published after the start (seeds excluded)
  uint64_t accepted = 0;      // */accepted replies received in the measured window
  uint64_t accepted_updates = 0;
  uint64_t accepted_gets = 0;
  uint64_t rejected = 0;      // */rejected replies in the measured window
  uint64_t errors = 0;        // failed publishes and lost connections
  uint64_t missing = 0;       // requests without a reply when the run ended
  uint64_t events = 0;        // delta/documents messages received in the window
  double measured_s = 0;      // length of the measured window
  double throughput = 0;      // accepted / measured_s
  double loadgen_cpu_s = 0;   // CPU time of the load threads (whole run)
  double broker_cpu_s = -1;   // broker CPU in the measured window (-1: unknown)
  double responder_cpu_s = -1;  // echo responder CPU in the measured window (baseline)
  // Time the broker's main thread was runnable but waiting for a CPU in the
  // window: how much other processes (the load generator, neighbours) held it back.
  double broker_wait_s = -1;
  // With --storm-clients: connections the storm got accepted per second
  // over the run, and its failed attempts (-1 / 0 without a storm).
  double storm_connects_per_s = -1;
  uint64_t storm_failures = 0;
  double storm_cpu_s = -1;  // CPU of the storm's thread (whole run)
  Histogram latency;          // accepted replies in the window, nanoseconds
  std::string first_failure;  // first connection failure, for the report
};

// Readings of the processes that answer requests, each sampled at both ends
// of the measured window; any may be empty.
struct Probes {
  std::function<double()> broker_cpu;     // broker CPU seconds so far
  std::function<double()> broker_wait;    // seconds the broker waited for a CPU so far
  std::function<double()> responder_cpu;  // the baseline's echo client CPU seconds so far
};

// Runs the traffic described by `cfg`. The run stops early when *interrupted
// becomes true.
RunResult run_load(const RunConfig& cfg, const Probes& probes, const std::atomic<bool>* interrupted);

// The thing name for index i, e.g. "lg-17" (see thing_step).
std::string thing_name(const RunConfig& cfg, int i);

}  // namespace loadgen
