#include "tools/loadgen/report.h"

#include <algorithm>
#include <cinttypes>
#include <functional>

namespace loadgen {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string count(uint64_t v) {
  // Thousands separators make 6-7 digit counts readable.
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ms(int64_t nanos) { return fmt("%.3f", static_cast<double>(nanos) / 1e6); }

double cpu_per_1000(const RunResult& r) {
  return r.broker_cpu_s >= 0 && r.accepted > 0 ? r.broker_cpu_s * 1000.0 / static_cast<double>(r.accepted)
                                               : -1;
}

// CPU of everything that answers requests: the broker, plus the echo client
// in the baseline.
double service_cpu_per_1000(const RunResult& r) {
  if (r.broker_cpu_s < 0 || r.accepted == 0) return -1;
  double cpu = r.broker_cpu_s + std::max(r.responder_cpu_s, 0.0);
  return cpu * 1000.0 / static_cast<double>(r.accepted);
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string describe(const RunConfig& cfg) {
  int things = thing_count(cfg);
  std::string s = std::to_string(cfg.connections) + " connections x " + std::to_string(cfg.inflight) +
                  " in flight, update:get " + std::to_string(cfg.mix_update) + ":" +
                  std::to_string(cfg.mix_get) + ", " + std::to_string(cfg.payload_bytes) +
                  "-byte updates, QoS " + std::to_string(cfg.qos) + ", " + std::to_string(things) +
                  " things, " + std::to_string(event_subscriber_count(cfg)) + " event subscribers, " +
                  fmt("%g", cfg.warmup_s) + " s warm-up + " + fmt("%g", cfg.duration_s) + " s measured, ";
  s += cfg.rate > 0 ? "open loop at " + fmt("%.0f", cfg.rate) + " requests/s" : std::string("closed loop");
  if (cfg.max_requests > 0) s += ", at most " + std::to_string(cfg.max_requests) + " requests";
  return s;
}

void print_table(std::FILE* out, const RunConfig& cfg, const std::vector<LabeledRun>& runs) {
  std::fprintf(out, "shadow_loadgen: %s\n", describe(cfg).c_str());
  for (const auto& run : runs) std::fprintf(out, "  %s: %s\n", run.label.c_str(), run.broker.c_str());
  std::fprintf(out, "\n");

  using Cell = std::function<std::string(const LabeledRun&)>;
  struct Row {
    const char* name;
    Cell cell;
  };
  std::vector<Row> rows = {
      {"requests sent", [](const LabeledRun& r) { return count(r.result.sent); }},
      {"accepted replies (measured)", [](const LabeledRun& r) { return count(r.result.accepted); }},
      {"  updates / gets", [](const LabeledRun& r) {
         return count(r.result.accepted_updates) + " / " + count(r.result.accepted_gets); }},
      {"rejected replies (measured)", [](const LabeledRun& r) { return count(r.result.rejected); }},
      {"errors", [](const LabeledRun& r) { return count(r.result.errors); }},
      {"missing replies", [](const LabeledRun& r) { return count(r.result.missing); }},
      {"events received (measured)", [](const LabeledRun& r) { return count(r.result.events); }},
      {"measured seconds", [](const LabeledRun& r) { return fmt("%.2f", r.result.measured_s); }},
      {"throughput (accepted/s)", [](const LabeledRun& r) { return fmt("%.0f", r.result.throughput); }},
      {"latency p50 (ms)", [](const LabeledRun& r) { return ms(r.result.latency.percentile(50)); }},
      {"latency p90 (ms)", [](const LabeledRun& r) { return ms(r.result.latency.percentile(90)); }},
      {"latency p99 (ms)", [](const LabeledRun& r) { return ms(r.result.latency.percentile(99)); }},
      {"latency max (ms)", [](const LabeledRun& r) { return ms(r.result.latency.max()); }},
      {"broker CPU s (measured)", [](const LabeledRun& r) {
         return r.result.broker_cpu_s >= 0 ? fmt("%.2f", r.result.broker_cpu_s) : std::string("n/a"); }},
      {"broker wait for CPU s (measured)", [](const LabeledRun& r) {
         return r.result.broker_wait_s >= 0 ? fmt("%.2f", r.result.broker_wait_s) : std::string("n/a"); }},
      {"broker CPU s / 1000 replies", [](const LabeledRun& r) {
         double v = cpu_per_1000(r.result);
         return v >= 0 ? fmt("%.4f", v) : std::string("n/a"); }},
      {"echo responder CPU s (measured)", [](const LabeledRun& r) {
         return r.result.responder_cpu_s >= 0 ? fmt("%.2f", r.result.responder_cpu_s) : std::string("-"); }},
      {"broker+echo CPU s / 1000 replies", [](const LabeledRun& r) {
         double v = service_cpu_per_1000(r.result);
         return v >= 0 ? fmt("%.4f", v) : std::string("n/a"); }},
      {"load generator CPU s (whole run)", [](const LabeledRun& r) { return fmt("%.2f", r.result.loadgen_cpu_s); }},
  };

  bool storm = false;
  for (const auto& run : runs) storm = storm || run.result.storm_connects_per_s >= 0;
  if (storm) {
    rows.push_back({"storm connects/s (accepted)", [](const LabeledRun& r) {
                      return r.result.storm_connects_per_s >= 0 ? fmt("%.0f", r.result.storm_connects_per_s)
                                                                : std::string("-"); }});
    rows.push_back({"storm CPU s (whole run)", [](const LabeledRun& r) {
                      return r.result.storm_cpu_s >= 0 ? fmt("%.2f", r.result.storm_cpu_s) : std::string("-"); }});
    rows.push_back({"storm failed attempts", [](const LabeledRun& r) {
                      return r.result.storm_connects_per_s >= 0 ? count(r.result.storm_failures) : std::string("-"); }});
  }
  size_t name_w = 0;
  for (const auto& row : rows) name_w = std::max(name_w, std::string(row.name).size());
  std::vector<size_t> col_w;
  for (const auto& run : runs) {
    size_t w = run.label.size();
    for (const auto& row : rows) w = std::max(w, row.cell(run).size());
    col_w.push_back(w);
  }
  std::fprintf(out, "%-*s", static_cast<int>(name_w), "");
  for (size_t i = 0; i < runs.size(); ++i)
    std::fprintf(out, "  %*s", static_cast<int>(col_w[i]), runs[i].label.c_str());
  std::fprintf(out, "\n");
  for (const auto& row : rows) {
    std::fprintf(out, "%-*s", static_cast<int>(name_w), row.name);
    for (size_t i = 0; i < runs.size(); ++i)
      std::fprintf(out, "  %*s", static_cast<int>(col_w[i]), row.cell(runs[i]).c_str());
    std::fprintf(out, "\n");
  }
  if (runs.size() == 2 && runs[1].result.throughput > 0) {
    const RunResult& a = runs[0].result;
    const RunResult& b = runs[1].result;
    double p99b = static_cast<double>(b.latency.percentile(99));
    double cpu_a = service_cpu_per_1000(a), cpu_b = service_cpu_per_1000(b);
    std::fprintf(out, "\n%s / %s: throughput %.2fx, p99 latency %s, broker(+echo) CPU per reply %s\n",
                 runs[0].label.c_str(), runs[1].label.c_str(), a.throughput / b.throughput,
                 p99b > 0 ? fmt("%.2fx", static_cast<double>(a.latency.percentile(99)) / p99b).c_str() : "n/a",
                 cpu_a > 0 && cpu_b > 0 ? fmt("%.2fx", cpu_a / cpu_b).c_str() : "n/a");
  }
  for (const auto& run : runs) {
    // With the plugin every accepted update publishes a delta (the things
    // are seeded with a desired state) and a documents event. Fewer means
    // the broker dropped events, e.g. a subscriber's queue
    // (max_inflight_messages / max_queued_messages) overflowed.
    const RunResult& r = run.result;
    if (r.events > 0 && static_cast<double>(r.events) < 1.9 * static_cast<double>(r.accepted_updates))
      std::fprintf(out, "%s: note: %s events for %s accepted updates (2 expected per update); the broker "
                        "dropped some (more --event-subscribers, or raise max_queued_messages)\n",
                   run.label.c_str(), count(r.events).c_str(), count(r.accepted_updates).c_str());
  }
  for (const auto& run : runs) {
    if (!run.result.first_failure.empty())
      std::fprintf(out, "%s: %s\n", run.label.c_str(), run.result.first_failure.c_str());
  }
}

void print_json(std::FILE* out, const RunConfig& cfg, const std::vector<LabeledRun>& runs) {
  std::fprintf(out,
               "{\"config\":{\"connections\":%d,\"inflight\":%d,\"mix_update\":%d,\"mix_get\":%d,"
               "\"payload_bytes\":%d,\"qos\":%d,\"things\":%d,\"event_subscribers\":%d,"
               "\"warmup_s\":%g,\"duration_s\":%g,\"rate\":%g,\"max_requests\":%" PRId64 "},\"runs\":[",
               cfg.connections, cfg.inflight, cfg.mix_update, cfg.mix_get, cfg.payload_bytes, cfg.qos,
               thing_count(cfg), event_subscriber_count(cfg), cfg.warmup_s,
               cfg.duration_s, cfg.rate, cfg.max_requests);
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i].result;
    std::fprintf(out,
                 "%s{\"label\":\"%s\",\"broker\":\"%s\",\"sent\":%" PRIu64 ",\"accepted\":%" PRIu64
                 ",\"accepted_updates\":%" PRIu64 ",\"accepted_gets\":%" PRIu64 ",\"rejected\":%" PRIu64
                 ",\"errors\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"events\":%" PRIu64
                 ",\"measured_s\":%.3f,\"broker_wait_s\":%.3f,\"throughput\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
                 "\"p99\":%.3f,\"max\":%.3f},\"broker_cpu_s\":%.3f,\"broker_cpu_s_per_1000\":%.5f,"
                 "\"service_cpu_s_per_1000\":%.5f,\"loadgen_cpu_s\":%.3f,\"echo_cpu_s\":%.3f,"
                 "\"storm_connects_per_s\":%.1f,\"storm_failures\":%" PRIu64 ",\"failure\":\"%s\"}",
                 i ? "," : "", json_escape(runs[i].label).c_str(), json_escape(runs[i].broker).c_str(),
                 r.sent, r.accepted, r.accepted_updates, r.accepted_gets, r.rejected, r.errors, r.missing,
                 r.events, r.measured_s, r.broker_wait_s, r.throughput, r.latency.percentile(50) / 1e6,
                 r.latency.percentile(90) / 1e6, r.latency.percentile(99) / 1e6, r.latency.max() / 1e6,
                 r.broker_cpu_s, cpu_per_1000(r), service_cpu_per_1000(r), r.loadgen_cpu_s, r.responder_cpu_s,
                 r.storm_connects_per_s, r.storm_failures, json_escape(r.first_failure).c_str());
  }
  std::fprintf(out, "]");
  if (runs.size() == 2 && runs[1].result.throughput > 0 && runs[1].result.latency.percentile(99) > 0) {
    std::fprintf(out, ",\"ratio\":{\"throughput\":%.3f,\"p99\":%.3f}",
                 runs[0].result.throughput / runs[1].result.throughput,
                 static_cast<double>(runs[0].result.latency.percentile(99)) /
                     static_cast<double>(runs[1].result.latency.percentile(99)));
  }
  std::fprintf(out, "}\n");
}

}  // namespace loadgen
