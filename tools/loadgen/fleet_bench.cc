// shadow_fleet_bench: what fleet search and fleet updates cost on a large
// fleet (docs/benchmarks/fleet.md).
//
// 1. Fills a database with N shadows of about 1 KB directly through the
//    engine (shadow::Service over RocksDbStore: the same documents MQTT
//    would store, without a broker, so a million take a minute or two), or
//    reuses one filled earlier (--data-dir DIR --no-fill).
// 2. Starts mosquitto with the plugin on it (REST on, no authentication),
//    and keeps unrelated shadow traffic flowing over MQTT at a fixed rate
//    (open loop) whose latency is measured in three windows: quiet, during
//    searches, during a fleet update.
// 3. Times the first page of a selective search, full-fleet counts and a
//    fleet update of --update-things shadows, and samples the broker's RSS.
//
// Thing i is line-<i % 10>-dev-<i>; reported.temp is spread evenly over
// 50.0..99.9, so "shadow.reported.temp > 95 AND thingName:line-7*" matches
// about 1 % of the fleet.
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "shadow_core/service.h"
#include "store/rocksdb/rocksdb_store.h"
#include "tools/loadgen/broker_process.h"
#include "tools/loadgen/load_run.h"

#ifndef SHADOW_LOADGEN_DEFAULT_PLUGIN
#define SHADOW_LOADGEN_DEFAULT_PLUGIN "build/mosquitto_shadow.so"
#endif

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

void row(const char* name, const std::string& value) { std::printf("%-52s %s\n", name, value.c_str()); }

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string thing_name(int64_t i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "line-%d-dev-%07lld", static_cast<int>(i % 10), static_cast<long long>(i));
  return buf;
}

// The update that creates thing i: ~500 bytes of reported state (about 1 KB
// stored, with its metadata) and a small desired state.
std::string create_request(int64_t i) {
  uint64_t h = static_cast<uint64_t>(i) * 2654435761u;
  double temp = 50.0 + static_cast<double>(h % 500) / 10.0;
  std::string s = "{\"state\":{\"desired\":{\"mode\":\"eco\"},\"reported\":{\"temp\":" + fmt("%.1f", temp) +
                  ",\"fw\":\"v1." + std::to_string(h % 7) + "\",\"mode\":\"" + (h % 3 ? "eco" : "boost") +
                  "\",\"serial\":\"SN-" + std::to_string(1000000 + i) + "\"";
  for (int k = 0; k < 9; ++k) {
    s += ",\"f" + std::to_string(k) + "\":\"";
    for (int j = 0; j < 36; ++j) s += static_cast<char>('a' + (j * 7 + k + i) % 26);
    s += "\"";
  }
  return s + "}}}";
}

struct FillResult {
  std::string error;
  double seconds = 0;
  double stored_bytes_avg = 0;
};

FillResult fill(const std::string& dir, int64_t shadows) {
  FillResult out;
  shadow::RocksDbOptions o;
  o.path = dir;
  o.write_buffer_size = 64ull << 20;
  auto opened = shadow::RocksDbStore::open(o);
  if (!opened.ok()) {
    out.error = opened.status().message();
    return out;
  }
  shadow::RocksDbStore& store = **opened;
  shadow::Service service(shadow::Config{}, store);
  auto t0 = Clock::now();
  double stored = 0;
  for (int64_t i = 0; i < shadows && !g_interrupted; ++i) {
    auto r = service.handle_mqtt("$aws/things/" + thing_name(i) + "/shadow/update", create_request(i), 1700000000);
    if (!r || !r->ok()) {
      out.error = "creating " + thing_name(i) + " failed: " + (r ? r->body : "not a request");
      return out;
    }
    if (i % 1000 == 0) {
      shadow::ShadowRecord rec;
      if (store.get({thing_name(i), ""}, &rec).is_ok()) stored += static_cast<double>(rec.document.size());
    }
    if (i % 50000 == 0 && i > 0) {
      std::fprintf(stderr, "\rfilled %lld/%lld shadows (%.0f/s)   ", static_cast<long long>(i),
                   static_cast<long long>(shadows), static_cast<double>(i) / seconds_since(t0));
    }
  }
  std::fprintf(stderr, "\n");
  out.seconds = seconds_since(t0);
  out.stored_bytes_avg = stored / static_cast<double>((shadows + 999) / 1000);
  return out;
}

// One REST call; returns the HTTP status (0: no answer) and the body.
std::pair<int, std::string> post(httplib::Client& http, const std::string& path, const std::string& body) {
  auto r = http.Post(path, body, "application/json");
  if (!r) return {0, httplib::to_string(r.error())};
  return {r->status, r->body};
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The number after "key": in a JSON text (enough for our own answers).
double number_in(const std::string& body, const std::string& key) {
  size_t at = body.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::atof(body.c_str() + at + key.size() + 3);
}

// Background traffic: unrelated shadows updated at `rate`/s until stopped.
struct Background {
  std::thread thread;
  std::atomic<bool> stop{false};
  loadgen::RunResult result;

  void start(int port, double rate) {
    thread = std::thread([this, port, rate] {
      loadgen::RunConfig c;
      c.port = port;
      c.connections = 10;
      c.inflight = 50;
      c.things = 50;
      c.thing_prefix = "bg-";
      c.warmup_s = 0.5;
      c.duration_s = 3600;
      c.rate = rate;
      c.payload_bytes = 300;
      c.event_subscribers = 0;
      c.client_prefix = "fleet-bench-bg";
      result = loadgen::run_load(c, loadgen::Probes{}, &stop);
    });
  }
  loadgen::RunResult finish() {
    stop = true;
    thread.join();
    return result;
  }
};

std::string latency_text(const loadgen::RunResult& r) {
  auto ms = [](int64_t ns) { return fmt("%.2f", static_cast<double>(ns) / 1e6); };
  return ms(r.latency.percentile(50)) + " / " + ms(r.latency.percentile(99)) + " / " + ms(r.latency.max()) +
         " ms (" + std::to_string(r.accepted) + " updates" +
         (r.missing + r.errors > 0 ? ", " + std::to_string(r.missing + r.errors) + " missing" : "") + ")";
}

// Samples the broker's RSS every 100 ms; max() is the peak since start().
struct RssSampler {
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<long> peak{0};
  void start(const loadgen::BrokerProcess& broker) {
    peak = broker.rss_kb();
    thread = std::thread([this, &broker] {
      while (!stop) {
        peak = std::max(peak.load(), broker.rss_kb());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  long finish() {
    stop = true;
    thread.join();
    return peak;
  }
};

const char* kExamples = R"(
Examples:
  # The goal figures: one million shadows (~1 GB of documents, ~250 MB on disk; kept for later runs):
  shadow_fleet_bench --shadows 1000000 --data-dir /tmp/fleet-1m
  # Again on the same data, without filling it again:
  shadow_fleet_bench --shadows 1000000 --data-dir /tmp/fleet-1m --no-fill
  # A quick run:
  shadow_fleet_bench --shadows 20000 --update-things 2000
)";

}  // namespace

int main(int argc, char** argv) {
  int64_t shadows = 1000000;
  int64_t update_things = 100000;
  std::string data_dir;
  bool do_fill = true;
  double bg_rate = 200;
  double window = 10;
  int searches = 5;
  int batch = 50;
  loadgen::BrokerSpec spec;
  spec.plugin = SHADOW_LOADGEN_DEFAULT_PLUGIN;
  std::vector<std::string> plugin_opts;

  CLI::App app{"shadow_fleet_bench: fleet search and fleet update figures on a large fleet, with\n"
               "unrelated shadow traffic flowing (docs/benchmarks/fleet.md)."};
  app.footer(kExamples);
  app.get_formatter()->column_width(34);
  app.add_option("--shadows", shadows, "Shadows in the fleet")->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{100'000'000}));
  app.add_option("--update-things", update_things,
                 "Shadows the fleet update changes (things line-3-*, a tenth of the fleet, at most)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app.add_option("--data-dir", data_dir, "RocksDB directory (default: a temporary one, removed at the end)");
  app.add_flag("!--no-fill", do_fill, "Use the fleet already in --data-dir");
  app.add_option("--bg-rate", bg_rate, "Unrelated shadow updates per second during the run")
      ->capture_default_str()->check(CLI::Range(1.0, 100000.0));
  app.add_option("--window", window, "Seconds of the quiet latency window")->capture_default_str()
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--searches", searches, "Repetitions of each search")->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--batch", batch, "plugin_opt_fleet_update_batch")->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--plugin", spec.plugin, "The plugin")->capture_default_str();
  app.add_option("--mosquitto", spec.mosquitto, "The mosquitto executable")->capture_default_str();
  app.add_option("--plugin-opt", plugin_opts, "Extra plugin_opt as KEY=VALUE (repeatable)");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  bool temporary = data_dir.empty();
  if (temporary) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "shadow-fleet-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    data_dir = tmpl + "/db";
  }
  if (!do_fill && !std::filesystem::exists(std::filesystem::path(data_dir) / "CURRENT")) {
    std::fprintf(stderr,
                 "shadow_fleet_bench: --no-fill, but %s holds no database; run once without --no-fill "
                 "to fill it\n",
                 data_dir.c_str());
    return 2;
  }
  std::printf("fleet: %lld shadows in %s\n\n", static_cast<long long>(shadows), data_dir.c_str());
  if (do_fill) {
    FillResult f = fill(data_dir, shadows);
    if (!f.error.empty()) {
      std::fprintf(stderr, "shadow_fleet_bench: %s\n", f.error.c_str());
      return 1;
    }
    row("fill (engine + RocksDB, no broker)", fmt("%.1f s", f.seconds) + fmt(" (%.0f shadows/s)", static_cast<double>(shadows) / f.seconds));
    row("stored document, average", fmt("%.0f bytes", f.stored_bytes_avg));
  }
  if (g_interrupted) return 130;

  spec.data_dir = data_dir;
  spec.plugin_options.push_back({"http_listen", "127.0.0.1:0"});
  int http_port = loadgen::free_loopback_port();
  spec.plugin_options.back().second = "127.0.0.1:" + std::to_string(http_port);
  spec.plugin_options.push_back({"http_auth", "none"});
  spec.plugin_options.push_back({"fleet_update_batch", std::to_string(batch)});
  spec.add_cli_plugin_options(false, plugin_opts);
  spec.extra_conf.push_back("max_queued_messages 100000");
  loadgen::BrokerProcess broker;
  mosquitto_lib_init();
  if (std::string err = broker.start(spec); !err.empty()) {
    std::fprintf(stderr, "shadow_fleet_bench: cannot start the broker: %s\n", err.c_str());
    return 1;
  }
  row("broker start-up until the port accepts", fmt("%.2f s", broker.startup_seconds()));
  row("broker RSS idle", fmt("%.1f MB", static_cast<double>(broker.rss_kb()) / 1024));
  httplib::Client http("127.0.0.1", http_port);
  http.set_read_timeout(600);
  http.set_connection_timeout(5);

  auto search_body = [](const std::string& q, int max) {
    return "{\"indexName\":\"AWS_Things\",\"queryString\":" + json_string(q) +
           (max > 0 ? ",\"maxResults\":" + std::to_string(max) : "") + "}";
  };
  const std::string selective = "shadow.reported.temp > 95 AND thingName:line-7*";
  int rc = 0;

  // How long the broker waited for a CPU during a window (other processes
  // on the machine): context for the latency tails.
  auto waited = [&broker](double since, double seconds) {
    double w = broker.run_queue_wait_seconds() - since;
    return fmt("%.2f s", w) + fmt(" of %.1f s", seconds);
  };

  // Quiet window: the unrelated traffic alone.
  double wait0 = broker.run_queue_wait_seconds();
  auto window0 = Clock::now();
  Background quiet;
  quiet.start(broker.port(), bg_rate);
  for (double waited = 0; waited < window && !g_interrupted; waited += 0.1)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  loadgen::RunResult quiet_result = quiet.finish();
  std::printf("\n");
  row("background: unrelated updates/s (open loop)", fmt("%.0f", bg_rate));
  row("update latency p50 / p99 / max, quiet", latency_text(quiet_result));
  row("broker waiting for a CPU, quiet", waited(wait0, seconds_since(window0)));

  // Searches, with the traffic flowing.
  double wait1 = broker.run_queue_wait_seconds();
  auto window1 = Clock::now();
  Background during;
  RssSampler rss;
  rss.start(broker);
  during.start(broker.port(), bg_rate);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  struct Timed {
    std::string name, query, path;
    int max;
    std::vector<double> seconds;
    std::string last;
  };
  std::vector<Timed> runs = {
      {"search, first page of 100 (selective, ~1 %)", selective, "/indices/search", 100, {}, {}},
      {"get-statistics count: " + selective, selective, "/indices/statistics", 0, {}, {}},
      {"get-statistics count: * (full fleet)", "*", "/indices/statistics", 0, {}, {}},
      {"get-statistics count: shadow.reported.temp > 95", "shadow.reported.temp > 95", "/indices/statistics", 0, {}, {}},
  };
  for (Timed& t : runs) {
    for (int i = 0; i < searches && !g_interrupted; ++i) {
      auto t0 = Clock::now();
      auto [status, body] = post(http, t.path, search_body(t.query, t.max));
      t.seconds.push_back(seconds_since(t0));
      if (status != 200) {
        std::fprintf(stderr, "shadow_fleet_bench: %s answered %d: %s\n", t.path.c_str(), status, body.c_str());
        rc = 1;
        break;
      }
      t.last = body;
    }
  }
  loadgen::RunResult search_result = during.finish();
  long search_peak = rss.finish();
  for (const Timed& t : runs) {
    if (t.seconds.empty()) continue;
    std::vector<double> s = t.seconds;
    std::sort(s.begin(), s.end());
    std::string result = fmt("%.0f", number_in(t.last, "count"));
    if (t.path == "/indices/search") {
      size_t n = 0;
      for (size_t at = t.last.find("\"thingName\""); at != std::string::npos; at = t.last.find("\"thingName\"", at + 1)) ++n;
      result = std::to_string(n) + " things";
    }
    row(t.name.c_str(), fmt("median %.3f s", s[s.size() / 2]) + fmt(", min %.3f", s.front()) +
                             fmt(", max %.3f s", s.back()) + " -> " + result);
  }
  row("update latency p50 / p99 / max, during searches", latency_text(search_result));
  row("broker waiting for a CPU, during searches", waited(wait1, seconds_since(window1)));
  row("broker RSS peak during searches", fmt("%.1f MB", static_cast<double>(search_peak) / 1024));

  // A fleet update of the things line-3-* (up to --update-things of them).
  if (update_things > 0 && !g_interrupted) {
    int64_t line3 = (shadows + 6) / 10;
    std::string query = "thingName:line-3*";
    if (update_things < line3) {
      // The first update_things of line 3, by name: thing indices 3, 13, 23, ...
      query += " AND thingName:[line-3-dev-0000000 TO " + thing_name(3 + 10 * (update_things - 1)) + "]";
    }
    std::string id = "bench-" + std::to_string(::getpid());
    double wait2 = broker.run_queue_wait_seconds();
    auto window2 = Clock::now();
    Background bg;
    RssSampler urss;
    urss.start(broker);
    bg.start(broker.port(), bg_rate);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto t0 = Clock::now();
    auto [status, body] = post(http, "/api/fleet/updates",
                               "{\"operationId\":\"" + id + "\",\"queryString\":" + json_string(query) +
                                   ",\"state\":{\"desired\":{\"mode\":\"night\",\"bench\":\"" + id + "\"}}}");
    std::string last;
    if (status != 201) {
      std::fprintf(stderr, "shadow_fleet_bench: starting the fleet update answered %d: %s\n", status, body.c_str());
      rc = 1;
    } else {
      while (!g_interrupted) {
        auto r = http.Get("/api/fleet/updates/" + id);
        if (!r) {
          rc = 1;
          break;
        }
        last = r->body;
        if (last.find("\"status\":\"RUNNING\"") == std::string::npos) break;
        std::fprintf(stderr, "\rfleet update: %.0f updated", number_in(last, "updated"));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      std::fprintf(stderr, "\n");
    }
    double took = seconds_since(t0);
    loadgen::RunResult update_result = bg.finish();
    long update_peak = urss.finish();
    double updated = number_in(last, "updated");
    row("fleet update: shadows updated / failed", fmt("%.0f", updated) + fmt(" / %.0f", number_in(last, "failed")));
    row("fleet update: time, rate", fmt("%.1f s", took) + fmt(", %.0f shadows/s", updated / took));
    row("update latency p50 / p99 / max, during the fleet update", latency_text(update_result));
    row("broker waiting for a CPU, during the fleet update", waited(wait2, seconds_since(window2)));
    row("broker RSS peak during the fleet update", fmt("%.1f MB", static_cast<double>(update_peak) / 1024));
    if (last.find("\"status\":\"COMPLETED\"") == std::string::npos) rc = 1;
  }
  double load1 = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load1) != 1) load1 = -1;
    std::fclose(f);
  }
  row("load average (1 min) at the end", fmt("%.1f", load1));
  broker.stop();
  mosquitto_lib_cleanup();
  if (temporary) std::filesystem::remove_all(std::filesystem::path(data_dir).parent_path());
  return g_interrupted ? 130 : rc;
}
