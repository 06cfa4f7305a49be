"""Attacks on the REST API's HTTP server, measured: starts a broker with
the plugin (REST on, default limits unless told otherwise), runs each attack
against it and prints a table per attack.

  head flood    4 connections sending an endless request head (8,000-byte
                header lines, or one line without a line break), up to
                --flood-mb MB each
  slow clients  --slow connections sending one byte of a head every 1.5 s,
                from one client address, then spread over several
                addresses; /healthz is probed every 0.2 s meanwhile

Figures: the broker's RSS before, at its peak and after; /healthz latency
p50/p99 and failures during the attack; connections refused by the server.
It asserts nothing: docs/security.md records its figures.

Usage (from the repository root, after a build):
  SHADOW_PLUGIN=build/mosquitto_shadow.so PYTHONPATH=tests/lib \\
      python3 tests/rest/attack_bench.py [--slow 500] [--flood-mb 128]
      [--max-connections N] [--smoke]
"""

import argparse
import http.client
import statistics
import sys
import threading
import time

from shadowtest.attack import RssSampler, SlowClients, head_flood, healthz, source_addresses
from shadowtest.rest import RestBroker

MB = 1 << 20


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def ms(v):
    return "-" if v is None else "%.1f ms" % (v * 1000)


def metric_total(broker, prefix):
    """Sum of every series of GET /metrics whose name starts with `prefix`;
    None when /metrics does not answer within 5 s (a starved server)."""
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
    except OSError:
        return None
    finally:
        conn.close()
    total = 0
    for line in body.splitlines():
        if line.startswith(prefix):
            total += int(line.rsplit(" ", 1)[1])
    return total


def figure(v):
    return "n/a (/metrics did not answer)" if v is None else "%d" % v


class Prober(threading.Thread):
    """GET /healthz every `interval_s` from 127.0.0.1 until stopped."""

    def __init__(self, port, interval_s=0.2, timeout_s=10.0):
        super().__init__(daemon=True)
        self.port, self.interval_s, self.timeout_s = port, interval_s, timeout_s
        self.latencies, self.failures = [], 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            status, seconds = healthz(self.port, timeout_s=self.timeout_s)
            if status == 200:
                self.latencies.append(seconds)
            else:
                self.failures += 1
            self._halt.wait(self.interval_s)

    def stop(self):
        self._halt.set()
        self.join(timeout=self.timeout_s + 5)


def print_table(title, rows):
    print()
    print(title)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print("  %-*s  %s" % (width, key, value))
    sys.stdout.flush()


def run_head_flood(broker, connections, flood_mb, time_limit_s):
    started = time.monotonic()
    with RssSampler(broker.proc.pid) as rss:
        results = head_flood(broker.http_port, connections, flood_mb * MB, time_limit_s)
    took = time.monotonic() - started
    sent = sum(r.sent for r in results)
    outcomes = {}
    for r in results:
        key = "%s/%s" % (r.outcome, r.status if r.status is not None else "no answer")
        outcomes[key] = outcomes.get(key, 0) + 1
    print_table("head flood: %d connections, up to %d MB each" % (connections, flood_mb), [
        ("bytes sent (all connections)", "%.1f MB in %.1f s" % (sent / MB, took)),
        ("connection outcomes", ", ".join("%d %s" % (n, k) for k, n in sorted(outcomes.items()))),
        ("RSS before / peak / after", "%.1f / %.1f / %.1f MB" % (rss.before / MB, rss.peak / MB,
                                                                 rss.after / MB)),
        ("RSS growth at peak", "%.1f MB" % ((rss.peak - rss.before) / MB)),
        ("broker alive", "yes" if broker.alive() else "NO"),
    ])


def run_slow_clients(broker, count, addresses, duration_s):
    refused_before = metric_total(broker, "shadow_http_connections_refused_total")
    baseline = [t for t in (healthz(broker.http_port, timeout_s=5)[1] for _ in range(5)) if t is not None]
    with RssSampler(broker.proc.pid) as rss:
        with SlowClients(broker.http_port, count, source_addresses(addresses)) as slow:
            prober = Prober(broker.http_port)
            prober.start()
            time.sleep(duration_s)
            prober.stop()
            held = slow.open_now()
            open_metric = metric_total(broker, "shadow_http_connections ")
    refused_after = metric_total(broker, "shadow_http_connections_refused_total")
    refused = None if None in (refused_before, refused_after) else refused_after - refused_before
    lat = prober.latencies
    print_table("slow clients: %d connections from %d address%s, one byte every 1.5 s, %d s"
                % (count, addresses, "" if addresses == 1 else "es", duration_s), [
        ("connections still open (client side)", "%d (server gauge: %s)" % (held, figure(open_metric))),
        ("connections refused (503)", figure(refused)),
        ("/healthz before the attack p50", ms(statistics.median(baseline) if baseline else None)),
        ("/healthz during: answered", "%d, %d failed or timed out" % (len(lat), prober.failures)),
        ("/healthz during: p50 / p99 / max", "%s / %s / %s" % (ms(percentile(lat, 50)), ms(percentile(lat, 99)),
                                                                ms(max(lat) if lat else None))),
        ("RSS before / peak / after", "%.1f / %.1f / %.1f MB" % (rss.before / MB, rss.peak / MB,
                                                                 rss.after / MB)),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=500, help="slow connections (default 500)")
    parser.add_argument("--flood-mb", type=int, default=128, help="MB sent per flooding connection")
    parser.add_argument("--duration", type=int, default=8, help="seconds each slow-client attack lasts")
    parser.add_argument("--max-connections", type=int, default=None,
                        help="plugin_opt_http_max_connections for the broker (default: the plugin's, 512)")
    parser.add_argument("--smoke", action="store_true", help="tiny figures: only checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.slow, args.flood_mb, args.duration = 40, 4, 2

    # Plugin defaults for every limit; /metrics without a signature so the
    # script can read the server's counters.
    options = {"http_metrics_auth": "false"}
    if args.max_connections is not None:
        options["http_max_connections"] = args.max_connections
    broker = RestBroker(options=options)
    broker.start()
    try:
        print("mosquitto-shadow REST attack bench: broker pid %d, REST on 127.0.0.1:%d"
              % (broker.proc.pid, broker.http_port))
        run_head_flood(broker, 4, args.flood_mb, time_limit_s=30)
        run_slow_clients(broker, args.slow, 1, args.duration)
        # Spread so that no address passes the per-address limit (64).
        run_slow_clients(broker, args.slow, max(1, (args.slow + 49) // 50), args.duration)
        if not broker.alive():
            print("the broker died; its log:\n" + broker.log()[-3000:])
            return 1
    finally:
        broker.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
