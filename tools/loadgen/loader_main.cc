// shadow_loader: fills a broker with many shadows over MQTT, then measures
// what a large fleet costs: broker RSS, disk size, restart time, get latency.
// See --help and docs/benchmarks/broker-load.md ("Scale: one million shadows").
#include <CLI/CLI.hpp>
#include <mosquitto.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/loadgen/broker_process.h"
#include "tools/loadgen/load_run.h"
#include "tools/loadgen/shadow_loader.h"

#ifndef SHADOW_LOADGEN_DEFAULT_PLUGIN
#define SHADOW_LOADGEN_DEFAULT_PLUGIN "build/mosquitto_shadow.so"
#endif

namespace {

std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

// Bytes of the files under `dir`: apparent size and allocated blocks.
std::pair<uint64_t, uint64_t> disk_usage(const std::string& dir) {
  uint64_t apparent = 0, allocated = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      apparent += static_cast<uint64_t>(st.st_size);
      allocated += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return {apparent, allocated};
}

void row(const char* name, const std::string& value) { std::printf("%-38s %s\n", name, value.c_str()); }

std::string mb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

std::string num(double v, const char* f = "%.0f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* kExamples = R"(
Examples:
  # 100,000 shadows of ~1 KB into a broker started here, then RSS, disk, restart and get latency:
  shadow_loader --start-broker --shadows 100000
  # The scale goal (1,000,000 shadows), keeping the data directory for later runs:
  shadow_loader --start-broker --shadows 1000000 --keep-dirs
  # Only load, into a broker that is already running:
  shadow_loader --host 127.0.0.1 --port 1883 --shadows 50000 --get-rate 0

Shadows are classic shadows of things <prefix>0 .. <prefix>N-1, each created by one update whose
reported state makes the request --shadow-bytes long. The get phase reads --get-things of them,
spread evenly over the fleet, at --get-rate gets/s (open loop) and reports latency percentiles.
)";

}  // namespace

int main(int argc, char** argv) {
  loadgen::LoaderConfig lc;
  loadgen::BrokerSpec spec;
  spec.plugin = SHADOW_LOADGEN_DEFAULT_PLUGIN;
  spec.mosquitto = "mosquitto";
  bool start_broker = false, sync_writes = false, restart = true, load = true;
  std::vector<std::string> plugin_opts;
  double get_rate = 1000, get_duration = 10;
  int get_things = 10000, get_connections = 4;

  CLI::App app{"shadow_loader: creates many shadows through MQTT, then measures broker memory,\n"
               "disk size, restart time and get latency on the loaded fleet."};
  app.footer(kExamples);
  app.get_formatter()->column_width(34);
  app.add_option("--host", lc.host, "Broker host (without --start-broker)")->capture_default_str();
  app.add_option("--port", lc.port, "Broker port (without --start-broker)")->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_flag("--start-broker", start_broker,
               "Start mosquitto with the shadow plugin on a free loopback port and a temporary data "
               "directory; needed for RSS, disk size and restart figures");
  app.add_option("--plugin", spec.plugin, "The plugin for --start-broker")->capture_default_str();
  app.add_option("--mosquitto", spec.mosquitto, "The mosquitto executable to start")->capture_default_str();
  app.add_option("--data-dir", spec.data_dir, "With --start-broker: the RocksDB directory (default: temporary)");
  app.add_flag("--sync-writes", sync_writes, "With --start-broker: plugin_opt_sync_writes true");
  app.add_option("--plugin-opt", plugin_opts, "With --start-broker: extra plugin_opt as KEY=VALUE (repeatable)");
  app.add_option("--broker-conf", spec.extra_conf, "With --start-broker: extra mosquitto.conf line (repeatable)");
  app.add_flag("--keep-dirs", spec.keep_dir, "Keep the broker's directory (config, log, data)");
  app.add_option("--shadows", lc.shadows, "Shadows to create")->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  app.add_option("--first", lc.first, "Index of the first thing (to continue a partial load)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app.add_option("--shadow-bytes", lc.shadow_bytes, "Size of each creating update request")
      ->capture_default_str()->check(CLI::Range(80, 8000));
  app.add_option("--inflight", lc.inflight, "Updates in flight while loading")->capture_default_str()
      ->check(CLI::Range(1, 65000));
  app.add_option("--qos", lc.qos, "QoS of the updates")->capture_default_str()->check(CLI::IsMember({0, 1}));
  app.add_option("--prefix", lc.thing_prefix, "Thing name prefix")->capture_default_str();
  app.add_flag("!--no-load", load,
               "Skip loading: measure a fleet created earlier (--start-broker --data-dir DIR, with the "
               "same --shadows and --prefix)");
  app.add_flag("!--no-restart", restart, "With --start-broker: do not measure a restart");
  app.add_option("--get-rate", get_rate, "Gets/s in the get phase, open loop (0 = no get phase)")
      ->capture_default_str()->check(CLI::Range(0.0, 1e6));
  app.add_option("--get-things", get_things, "Shadows read in the get phase, spread over the fleet")
      ->capture_default_str()->check(CLI::Range(1, 1'000'000));
  app.add_option("--get-duration", get_duration, "Seconds of the get phase (at most 600)")
      ->capture_default_str()->check(CLI::Range(1.0, 600.0));
  app.add_option("--get-connections", get_connections, "Connections in the get phase")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_flag("!--no-progress", lc.progress, "No progress bar");
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  mosquitto_lib_init();

  loadgen::BrokerProcess broker;
  if (start_broker) {
    spec.add_cli_plugin_options(sync_writes, plugin_opts);
    if (std::string err = broker.start(spec); !err.empty()) {
      std::fprintf(stderr, "shadow_loader: cannot start the broker: %s\n", err.c_str());
      return 1;
    }
    lc.host = "127.0.0.1";
    lc.port = broker.port();
    std::printf("broker: %s, port %d, data %s, log %s\n", spec.plugin.c_str(), broker.port(),
                broker.data_dir().c_str(), broker.log_path().c_str());
  } else if (sync_writes || !plugin_opts.empty() || !spec.data_dir.empty() || !spec.extra_conf.empty()) {
    std::fprintf(stderr, "shadow_loader: --sync-writes, --plugin-opt, --data-dir and --broker-conf need --start-broker\n");
    return 2;
  }
  long rss_idle = broker.rss_kb();

  // 1. Load.
  loadgen::LoaderResult lr;
  if (load) {
    lr = loadgen::load_shadows(lc, &g_interrupted);
  } else {
    lr.accepted = lc.shadows;  // taken as given; the get phase checks them
  }
  if (!lr.error.empty()) {
    std::string hint = start_broker ? "" : " (is a broker with the shadow plugin running there? try --start-broker)";
    std::fprintf(stderr, "shadow_loader: %s%s\n", lr.error.c_str(),
                 lr.error.rfind("cannot connect", 0) == 0 ? hint.c_str() : "");
    if (start_broker) std::fprintf(stderr, "broker log tail:\n%s\n", broker.log_tail().c_str());
    return 1;
  }
  std::printf("\n");
  if (load) {
    row("shadows created (accepted)", num(static_cast<double>(lr.accepted)));
    row("rejected", num(static_cast<double>(lr.rejected)));
    if (!lr.first_rejection.empty()) row("first rejection", lr.first_rejection);
    row("load time", num(lr.seconds, "%.1f s"));
    row("load rate", num(lr.seconds > 0 ? static_cast<double>(lr.accepted) / lr.seconds : 0, "%.0f shadows/s"));
  } else if (start_broker) {
    row("start-up until port accepts", num(broker.startup_seconds(), "%.3f s"));
  }
  if (start_broker && load) {
    row("broker CPU s (whole run so far)", num(broker.cpu_seconds(), "%.1f"));
    row("broker RSS idle before load", num(static_cast<double>(rss_idle) / 1024, "%.1f MB"));
    row("broker RSS after load", num(static_cast<double>(broker.rss_kb()) / 1024, "%.1f MB"));
    auto [apparent, allocated] = disk_usage(broker.data_dir());
    row("data dir after load", mb(static_cast<double>(apparent)) + " (allocated " +
                                   mb(static_cast<double>(allocated)) + ")");
  } else if (start_broker) {
    row("broker RSS idle", num(static_cast<double>(rss_idle) / 1024, "%.1f MB"));
  }

  // 2. Restart: time until the listener accepts again.
  if (start_broker && restart && !g_interrupted) {
    if (std::string err = broker.restart(); !err.empty()) {
      std::fprintf(stderr, "shadow_loader: restart failed: %s\n", err.c_str());
      return 1;
    }
    row("restart: start-up until port accepts", num(broker.startup_seconds(), "%.3f s"));
    row("broker RSS after restart (idle)", num(static_cast<double>(broker.rss_kb()) / 1024, "%.1f MB"));
    auto [apparent, allocated] = disk_usage(broker.data_dir());
    row("data dir after restart", mb(static_cast<double>(apparent)) + " (allocated " +
                                      mb(static_cast<double>(allocated)) + ")");
  }

  // 3. Gets under moderate load on a sample spread over the fleet.
  int rc = lr.rejected > 0 || lr.accepted < lc.shadows ? 1 : 0;
  if (get_rate > 0 && !g_interrupted) {
    loadgen::RunConfig rc_get;
    rc_get.host = lc.host;
    rc_get.port = lc.port;
    rc_get.connections = get_connections;
    rc_get.inflight = 64;
    rc_get.mix_update = 0;
    rc_get.mix_get = 1;
    rc_get.qos = lc.qos;
    int64_t sample = std::min<int64_t>(get_things, lc.shadows);
    rc_get.things = static_cast<int>(sample);
    rc_get.thing_prefix = lc.thing_prefix;
    rc_get.thing_step = std::max<int64_t>(1, lc.shadows / sample);
    // The sample starts at index 0 (a load continued with --first contains it too).
    rc_get.warmup_s = 1;
    rc_get.duration_s = get_duration;
    rc_get.rate = get_rate;
    rc_get.event_subscribers = 0;
    rc_get.seed = false;
    rc_get.client_prefix = "shadow-loader-get";
    loadgen::Probes probes;
    if (start_broker) {
      probes.broker_cpu = [&broker] { return broker.cpu_seconds(); };
      probes.broker_wait = [&broker] { return broker.run_queue_wait_seconds(); };
    }
    loadgen::RunResult r = loadgen::run_load(rc_get, probes, &g_interrupted);
    if (!r.error.empty()) {
      std::fprintf(stderr, "shadow_loader: get phase: %s\n", r.error.c_str());
      return 1;
    }
    auto ms = [](int64_t ns) { return num(static_cast<double>(ns) / 1e6, "%.3f ms"); };
    row("get phase", num(get_rate, "%.0f gets/s") + " on " + num(static_cast<double>(sample)) +
                         " shadows (every " + num(static_cast<double>(rc_get.thing_step)) + "th), " +
                         num(get_duration, "%g s"));
    row("gets accepted / rejected / missing", num(static_cast<double>(r.accepted)) + " / " +
                                                  num(static_cast<double>(r.rejected)) + " / " +
                                                  num(static_cast<double>(r.missing)));
    row("get throughput", num(r.throughput, "%.0f/s"));
    row("get latency p50 / p90 / p99 / max", ms(r.latency.percentile(50)) + " / " +
                                                 ms(r.latency.percentile(90)) + " / " +
                                                 ms(r.latency.percentile(99)) + " / " + ms(r.latency.max()));
    if (!r.first_failure.empty()) row("get phase failure", r.first_failure);
    if (r.broker_cpu_s >= 0)
      row("broker CPU / wait for CPU in get phase", num(r.broker_cpu_s, "%.2f s") + " / " +
                                                       num(r.broker_wait_s, "%.2f s"));
    if (start_broker)
      row("broker RSS after gets", num(static_cast<double>(broker.rss_kb()) / 1024, "%.1f MB"));
    if (r.accepted == 0 || r.errors > 0 || r.missing > 0) rc = 1;
  }
  broker.stop();
  mosquitto_lib_cleanup();
  return g_interrupted ? 130 : rc;
}
