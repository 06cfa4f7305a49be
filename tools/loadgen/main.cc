// shadow_loadgen: load benchmark for the shadow service inside Mosquitto.
// See --help and docs/benchmarks/broker-load.md.
#include <CLI/CLI.hpp>
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <unistd.h>

#include "tools/loadgen/broker_process.h"
#include "tools/loadgen/echo_responder.h"
#include "tools/loadgen/load_run.h"
#include "tools/loadgen/report.h"
#include "tools/loadgen/storm.h"

#ifndef SHADOW_LOADGEN_DEFAULT_PLUGIN
#define SHADOW_LOADGEN_DEFAULT_PLUGIN "build/mosquitto_shadow.so"
#endif

namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted = true; }

struct Cli {
  loadgen::RunConfig run;
  bool start_broker = false;
  bool baseline = false;
  bool sync_writes = false;
  bool json = false;
  bool keep_dirs = false;
  std::string plugin = SHADOW_LOADGEN_DEFAULT_PLUGIN;
  std::string mosquitto = "mosquitto";
  std::vector<std::string> plugin_opts;
  std::vector<std::string> broker_conf;
  std::string mix = "100:0";
  int storm_clients = 0;
  int storm_hold_ms = 50;
  std::string baseline_echo = "accepted";
};

const char* kExamples = R"(
Examples:
  # The main configuration, full service against the plain broker + echo baseline:
  shadow_loadgen --start-broker --baseline --connections 20 --inflight 10 --payload-bytes 500 --qos 1
  # The same with durable writes (plugin_opt_sync_writes true):
  shadow_loadgen --start-broker --sync-writes
  # Latency at a fixed rate (e.g. half of the maximum measured above), open loop:
  shadow_loadgen --start-broker --rate 8000 --duration 20
  # 10% gets, 1000 things, against a broker that is already running:
  shadow_loadgen --host 127.0.0.1 --port 1883 --mix 90:10 --things 1000
  # Machine-readable output:
  shadow_loadgen --start-broker --baseline --json
  # Update latency at 1000/s during a storm of 1000 clients connecting and dropping (each
  # connected for 1 s), against the same traffic without it, with the presence field on
  # (docs/benchmarks/presence.md):
  shadow_loadgen --start-broker --rate 1000 --duration 30 --storm-clients 1000 --storm-hold-ms 1000 \
      --plugin-opt presence_field=connected --plugin-opt acl_fallback=allow

Every accepted update is answered on /update/accepted and (with the plugin) also publishes
/update/delta and /update/documents, which the event subscribers receive. Throughput counts
accepted replies received in the measured window (after the warm-up); latency is from publishing
a request (or, with --rate, from when it was due) to its reply, matched by clientToken.
)";

bool parse_mix(const std::string& s, int* update, int* get) {
  size_t colon = s.find(':');
  if (colon == std::string::npos) return false;
  try {
    size_t used = 0;
    *update = std::stoi(s.substr(0, colon), &used);
    if (used != colon) return false;
    std::string g = s.substr(colon + 1);
    *get = std::stoi(g, &used);
    if (used != g.size()) return false;
  } catch (...) {
    return false;
  }
  return *update >= 0 && *get >= 0 && *update + *get > 0 && *update + *get <= 1000000;
}

std::string plugin_description(const Cli& cli) {
  std::string s = "started: mosquitto + " + cli.plugin;
  if (cli.sync_writes) s += " (sync_writes true)";
  for (const auto& o : cli.plugin_opts) s += ", " + o;
  return s;
}

std::string connect_hint(const std::string& err, const loadgen::RunConfig& cfg, bool started) {
  if (started || err.rfind("cannot connect", 0) != 0) return err;
  return err + "\n  Is a Mosquitto broker with the shadow plugin listening on " + cfg.host + ":" +
         std::to_string(cfg.port) + "? Pass --start-broker to let shadow_loadgen start one.";
}

int run(const Cli& cli) {
  std::vector<loadgen::LabeledRun> runs;
  loadgen::RunConfig cfg = cli.run;

  // 1. The full service: a broker we start with the plugin, or the one given.
  //    With a storm: once with it, then once more without it on a new broker.
  for (int pass = 0; pass < (cli.storm_clients > 0 ? 2 : 1) && !g_interrupted; pass++) {
    const bool storm = cli.storm_clients > 0 && pass == 0;
    loadgen::BrokerProcess broker;
    loadgen::LabeledRun lr;
    lr.label = cli.storm_clients == 0 ? "full service" : storm ? "with storm" : "without storm";
    loadgen::Probes probes;
    if (cli.start_broker) {
      loadgen::BrokerSpec spec;
      spec.mosquitto = cli.mosquitto;
      spec.plugin = cli.plugin;
      spec.keep_dir = cli.keep_dirs;
      spec.extra_conf = cli.broker_conf;
      spec.add_cli_plugin_options(cli.sync_writes, cli.plugin_opts);
      if (std::string err = broker.start(spec); !err.empty()) {
        std::fprintf(stderr, "shadow_loadgen: cannot start the broker: %s\n", err.c_str());
        return 1;
      }
      cfg.host = "127.0.0.1";
      cfg.port = broker.port();
      probes.broker_cpu = [&broker] { return broker.cpu_seconds(); };
      probes.broker_wait = [&broker] { return broker.run_queue_wait_seconds(); };
      lr.broker = plugin_description(cli) + " on port " + std::to_string(broker.port()) + ", log " +
                  broker.log_path();
    } else {
      lr.broker = "existing broker at " + cfg.host + ":" + std::to_string(cfg.port) + " (CPU not measured)";
    }
    if (!cli.json) std::fprintf(stderr, "shadow_loadgen: running %s ...\n", lr.label.c_str());
    loadgen::ConnectionStorm churn;
    auto storm_started = std::chrono::steady_clock::now();
    if (storm) {
      loadgen::StormConfig sc;
      sc.host = cfg.host;
      sc.port = cfg.port;
      sc.clients = cli.storm_clients;
      sc.hold_ms = cli.storm_hold_ms;
      sc.client_prefix = "storm-" + std::to_string(::getpid());
      churn.start(sc);
    }
    lr.result = loadgen::run_load(cfg, probes, &g_interrupted);
    if (storm) {
      churn.stop();
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - storm_started).count();
      lr.result.storm_connects_per_s = seconds > 0 ? static_cast<double>(churn.connects()) / seconds : 0;
      lr.result.storm_failures = churn.failures();
      lr.result.storm_cpu_s = churn.cpu_seconds();
      lr.broker += ", storm of " + std::to_string(cli.storm_clients) + " clients (hold " +
                   std::to_string(cli.storm_hold_ms) + " ms)";
    }
    if (!lr.result.error.empty()) {
      std::fprintf(stderr, "shadow_loadgen: %s run: %s\n", lr.label.c_str(),
                   connect_hint(lr.result.error, cfg, cli.start_broker).c_str());
      if (cli.start_broker) std::fprintf(stderr, "broker log tail:\n%s\n", broker.log_tail().c_str());
      return 1;
    }
    runs.push_back(std::move(lr));
  }

  // 2. The baseline: a plain broker we start, plus the echo responder.
  if (cli.baseline && !g_interrupted) {
    loadgen::BrokerProcess broker;
    loadgen::BrokerSpec spec;
    spec.mosquitto = cli.mosquitto;
    spec.keep_dir = cli.keep_dirs;
    spec.extra_conf = cli.broker_conf;
    if (std::string err = broker.start(spec); !err.empty()) {
      std::fprintf(stderr, "shadow_loadgen: cannot start the baseline broker: %s\n", err.c_str());
      return 1;
    }
    loadgen::EchoResponder echo;
    if (std::string err = echo.start("127.0.0.1", broker.port(), cfg.qos, cli.baseline_echo == "all"); !err.empty()) {
      std::fprintf(stderr, "shadow_loadgen: %s\n", err.c_str());
      return 1;
    }
    loadgen::RunConfig bcfg = cfg;
    bcfg.host = "127.0.0.1";
    bcfg.port = broker.port();
    loadgen::LabeledRun lr;
    lr.label = "baseline (plain + echo)";
    lr.broker = "started: plain mosquitto + echo client (" +
                std::string(cli.baseline_echo == "all" ? "accepted + delta + documents"
                                                       : "accepted only") +
                ") on port " + std::to_string(broker.port());
    if (!cli.json) std::fprintf(stderr, "shadow_loadgen: running %s ...\n", lr.label.c_str());
    loadgen::Probes probes;
    probes.broker_cpu = [&broker] { return broker.cpu_seconds(); };
    probes.broker_wait = [&broker] { return broker.run_queue_wait_seconds(); };
    probes.responder_cpu = [&echo] { return echo.cpu_seconds(); };
    lr.result = loadgen::run_load(bcfg, probes, &g_interrupted);
    echo.stop();
    if (!lr.result.error.empty()) {
      std::fprintf(stderr, "shadow_loadgen: %s run: %s\n", lr.label.c_str(), lr.result.error.c_str());
      return 1;
    }
    runs.push_back(std::move(lr));
  }

  if (cli.json) {
    loadgen::print_json(stdout, cfg, runs);
  } else {
    loadgen::print_table(stdout, cfg, runs);
  }
  std::fflush(stdout);
  // Exit status for scripts and CI: the tool worked only if every run got
  // replies and lost none.
  for (const auto& r : runs) {
    if (r.result.accepted == 0 || r.result.errors > 0 || r.result.missing > 0) {
      std::fprintf(stderr, "shadow_loadgen: %s: %s\n", r.label.c_str(),
                   r.result.accepted == 0 ? "no accepted replies in the measured window"
                                          : "errors or missing replies (see the table)");
      return 1;
    }
  }
  return g_interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  CLI::App app{"shadow_loadgen: load benchmark for the Device Shadow service inside Mosquitto.\n"
               "N connections each keep W shadow update/get requests in flight and match the\n"
               "replies by clientToken; prints throughput and latency percentiles."};
  app.footer(kExamples);
  app.get_formatter()->column_width(34);
  auto& r = cli.run;
  app.add_option("--host", r.host, "Broker host (without --start-broker)")->capture_default_str();
  app.add_option("--port", r.port, "Broker port (without --start-broker)")->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_flag("--start-broker", cli.start_broker,
               "Start mosquitto with the shadow plugin on a free loopback port, with a temporary data "
               "directory and set_tcp_nodelay; stop it at the end");
  app.add_option("--plugin", cli.plugin, "The plugin for --start-broker")->capture_default_str();
  app.add_option("--mosquitto", cli.mosquitto, "The mosquitto executable to start")->capture_default_str();
  app.add_flag("--sync-writes", cli.sync_writes,
               "With --start-broker: plugin_opt_sync_writes true (durable mode)");
  app.add_option("--plugin-opt", cli.plugin_opts,
                 "With --start-broker: an extra plugin_opt_KEY VALUE line, given as KEY=VALUE (repeatable)");
  app.add_option("--broker-conf", cli.broker_conf,
                 "An extra mosquitto.conf line for every broker started here, both runs (repeatable), "
                 "e.g. \"max_queued_messages 10000\"");
  app.add_flag("--keep-dirs", cli.keep_dirs, "Keep the started brokers' directories (config, log, data)");
  app.add_flag("--baseline", cli.baseline,
               "Afterwards run the same traffic against a plain mosquitto (started here) with an echo "
               "client that answers each request on /accepted, and print both results and their ratio");
  app.add_option("--baseline-echo", cli.baseline_echo,
                 "What the echo client publishes per update: 'accepted' (one reply) or 'all' (also "
                 "the request on /update/delta and /update/documents, the messages the plugin publishes)")
      ->capture_default_str()->check(CLI::IsMember({"accepted", "all"}));
  app.add_option("--connections", r.connections, "Client connections sending requests")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--inflight", r.inflight, "Requests in flight per connection")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--mix", cli.mix, "update:get ratio, e.g. 90:10")->capture_default_str();
  app.add_option("--payload-bytes", r.payload_bytes, "Size of an update request in bytes")
      ->capture_default_str()->check(CLI::Range(80, 200000));
  app.add_option("--qos", r.qos, "QoS of requests, replies and event subscriptions")
      ->capture_default_str()->check(CLI::IsMember({0, 1}));
  app.add_option("--things", r.things, "Distinct things (0 = one per connection)")
      ->capture_default_str()->check(CLI::Range(0, 10000000));
  app.add_option("--duration", r.duration_s, "Measured seconds after the warm-up (at most 600)")
      ->capture_default_str()->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", r.warmup_s, "Warm-up seconds, not measured")
      ->capture_default_str()->check(CLI::Range(0.0, 60.0));
  app.add_option("--requests", r.max_requests, "Stop sending after this many requests (0 = no limit)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}));
  app.add_option("--rate", r.rate,
                 "Total requests/s, paced open loop (0 = closed loop: each reply triggers the next "
                 "request); use it to measure latency at e.g. half the maximum rate")
      ->capture_default_str()->check(CLI::Range(0.0, 10'000'000.0));
  app.add_option("--event-subscribers", r.event_subscribers,
                 "Clients subscribed to update/delta and update/documents of the things, each to its "
                 "share (default: one per thing, at most 100; 0 = none)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--threads", r.threads, "Load generator threads driving the connections")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--storm-clients", cli.storm_clients,
                 "Also run a connect/disconnect storm: this many clients that connect, stay "
                 "--storm-hold-ms and drop the connection, in a loop; the run is then done twice "
                 "(with and without the storm) and both are printed")
      ->capture_default_str()->check(CLI::Range(0, 10000));
  app.add_option("--storm-hold-ms", cli.storm_hold_ms, "How long each storm client stays connected")
      ->capture_default_str()->check(CLI::Range(0, 60000));
  app.add_flag("--json", cli.json, "Print one JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);

  if (!parse_mix(cli.mix, &r.mix_update, &r.mix_get)) {
    std::fprintf(stderr, "shadow_loadgen: --mix must be UPDATES:GETS with non-negative integers, "
                         "e.g. 90:10 (got '%s')\n", cli.mix.c_str());
    return 2;
  }
  for (const auto& o : cli.plugin_opts) {
    if (o.find('=') == std::string::npos || o.find('=') < 3) {
      std::fprintf(stderr, "shadow_loadgen: --plugin-opt wants KEY=VALUE with a key of at least 3 "
                           "characters (got '%s')\n", o.c_str());
      return 2;
    }
  }
  if (cli.storm_clients > 0 && (!cli.start_broker || cli.baseline)) {
    std::fprintf(stderr, "shadow_loadgen: --storm-clients needs --start-broker (each pass gets a new "
                         "broker) and cannot be combined with --baseline\n");
    return 2;
  }
  if ((cli.sync_writes || !cli.plugin_opts.empty()) && !cli.start_broker) {
    std::fprintf(stderr, "shadow_loadgen: --sync-writes and --plugin-opt need --start-broker\n");
    return 2;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  mosquitto_lib_init();
  int rc = run(cli);
  mosquitto_lib_cleanup();
  return rc;
}
