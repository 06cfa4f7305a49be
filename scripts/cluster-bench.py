#!/usr/bin/python3
"""Throughput of cluster mode with 1, 2, 3 ... brokers, and where the CPU goes.

For each broker count it starts scripts/cluster.sh (Redis Cluster 3 + 3,
the brokers, HAProxy) on free loopback ports, runs build/tools/shadow_loadgen
against broker 1 (one broker) or HAProxy (several), and reads the CPU time
of every process of the cluster from /proc before and after. It prints one
table row per run: updates/s, latency, and CPU microseconds per acknowledged
update for the brokers, the Redis masters, the Redis replicas and HAProxy,
each as the sum over the processes of that kind and per process. RocksDB
rows (the same load against one broker started by shadow_loadgen, in the
default mode and in durable mode, plugin_opt_sync_writes true) come first
for comparison, and the single-broker ratios last. docs/scale-out.md#throughput
explains how to read and project the figures.

Usage: scripts/cluster-bench.py [--brokers 1,2,3] [--things 20,200]
                                [--duration 10] [--connections 20] [--inflight 10]
Every process it starts is stopped at the end, also after Ctrl-C."""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
TICKS = os.sysconf("SC_CLK_TCK")


def say(text):
    print("cluster-bench: " + text, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_base_port():
    # cluster.sh uses P, P+1, P+11.., P+21.. and P+100..P+105 (+10000 for the cluster bus),
    # all below Linux's ephemeral ports (32768 and up), where clients get theirs.
    for _ in range(100):
        base = random.randrange(12000, 22400, 200)
        ports = [base, base + 1] + [base + 10 + i for i in range(1, 10)] + [base + 20 + i for i in range(1, 10)]
        ports += [base + 100 + i for i in range(6)] + [base + 10100 + i for i in range(6)]
        if all(port_free(p) for p in ports):
            return base
    raise SystemExit("cluster-bench: no free port range between 12000 and 22400")


def loadgen(args, *target):
    cmd = [args.loadgen, *target, "--connections", str(args.connections), "--inflight", str(args.inflight),
           "--payload-bytes", "500", "--qos", "1", "--duration", str(args.duration), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 300)
    if p.returncode != 0:
        raise SystemExit("cluster-bench: shadow_loadgen failed (%s):\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    run = json.loads(p.stdout)["runs"][0]
    if run["errors"] or run["missing"] or run["rejected"] or run["failure"]:
        say("warning: errors %d, missing %d, rejected %d %s" % (run["errors"], run["missing"], run["rejected"],
                                                               run["failure"]))
    return run


class Cluster:
    def __init__(self, args, brokers):
        self.args = args
        self.brokers = brokers
        self.tmp = tempfile.mkdtemp(prefix="shadow-cluster-bench-")
        self.dir = os.path.join(self.tmp, "cluster")
        self.base = free_base_port()

    def script(self, *argv):
        p = subprocess.run([CLUSTER_SH, *argv, "--dir", self.dir], capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit("cluster-bench: cluster.sh %s failed:\n%s%s" % (" ".join(argv), p.stdout, p.stderr))

    def __enter__(self):
        say("starting Redis Cluster + %d broker(s) + HAProxy on base port %d" % (self.brokers, self.base))
        try:
            self.script("start", "--brokers", str(self.brokers), "--http-auth", "none",
                        "--base-port", str(self.base), "--plugin", self.args.plugin)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run([CLUSTER_SH, "stop", "--dir", self.dir], capture_output=True, timeout=300)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mqtt_port(self):
        return self.base + 11 if self.brokers == 1 else self.base

    def processes(self):
        """kind -> list of pids; Redis nodes split by their current role."""
        kinds = {"broker": [], "master": [], "replica": [], "haproxy": []}
        for n in range(1, self.brokers + 1):
            kinds["broker"].append(read_pid(os.path.join(self.dir, "broker%d" % n, "mosquitto.pid")))
        for i in range(6):
            port = self.base + 100 + i
            role = subprocess.run(["redis-cli", "-p", str(port), "ROLE"], capture_output=True, text=True,
                                  timeout=10).stdout.split("\n", 1)[0]
            kind = "master" if role == "master" else "replica"
            kinds[kind].append(read_pid(os.path.join(self.dir, "redis", str(port), "redis.pid")))
        kinds["haproxy"].append(read_pid(os.path.join(self.dir, "haproxy.pid")))
        return kinds

    def run(self, things):
        kinds = self.processes()
        before = {pid: cpu_seconds(pid) for pids in kinds.values() for pid in pids}
        run = loadgen(self.args, "--port", str(self.mqtt_port()), "--things", str(things))
        cpu = {kind: sum(cpu_seconds(pid) - before[pid] for pid in pids) for kind, pids in kinds.items()}
        return run, cpu, {kind: len(pids) for kind, pids in kinds.items()}


def us_per_update(cpu_s, run):
    # The CPU counts the warm-up too; the updates of the warm-up are not
    # counted, so spread the CPU over the updates sent in the whole run.
    updates = run["sent"]
    return 1e6 * cpu_s / updates if updates else float("nan")


def row(cells):
    print("| " + " | ".join(cells) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default="1,2,3", help="broker counts, comma separated (default 1,2,3)")
    parser.add_argument("--things", default="20,200", help="distinct things per run, comma separated")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--inflight", type=int, default=10)
    parser.add_argument("--no-rocksdb", action="store_true", help="leave out the RocksDB comparison rows")
    parser.add_argument("--plugin", default=os.path.join(ROOT, "build", "mosquitto_shadow.so"))
    parser.add_argument("--loadgen", default=os.path.join(ROOT, "build", "tools", "shadow_loadgen"))
    args = parser.parse_args()
    for path in (args.plugin, args.loadgen):
        if not os.access(path, os.R_OK):
            raise SystemExit("cluster-bench: %s is missing: build first (scripts/build.sh)" % path)
    broker_counts = [int(x) for x in args.brokers.split(",")]
    thing_counts = [int(x) for x in args.things.split(",")]

    print("Load: %d connections x %d in flight, 500-byte updates, QoS 1, %g s measured; %d CPUs, load average %s"
          % (args.connections, args.inflight, args.duration, os.cpu_count(), os.getloadavg()[0]))
    print("CPU: microseconds per update; 'sum' over the processes of a kind, '/p' per process.\n")
    row(["Setup", "Things", "Updates/s", "p50 ms", "p99 ms", "brokers sum (/p)", "Redis masters sum (/p)",
         "Redis replicas sum (/p)", "HAProxy"])
    row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"])
    rocksdb = {}  # (setup, things) -> updates/s
    cluster1 = {}  # things -> updates/s of one cluster-mode broker
    if not args.no_rocksdb:
        # Durable mode answers only once the write-ahead log is fsynced: the
        # RocksDB counterpart of cluster mode answering once a replica holds
        # the write.
        for setup, extra in (("RocksDB, 1 broker", []), ("RocksDB durable, 1 broker", ["--sync-writes"])):
            for things in thing_counts:
                say("%s, %d things" % (setup, things))
                run = loadgen(args, "--start-broker", "--plugin", args.plugin, *extra, "--things", str(things))
                rocksdb[(setup, things)] = run["throughput"]
                cpu = run["broker_cpu_s_per_1000"] * 1000
                row([setup, str(things), "{:,.0f}".format(run["throughput"]), "%.1f" % run["latency_ms"]["p50"],
                     "%.1f" % run["latency_ms"]["p99"], "%.0f" % cpu, "-", "-", "-"])
    for brokers in broker_counts:
        with Cluster(args, brokers) as cluster:
            for things in thing_counts:
                say("Redis Cluster, %d broker(s), %d things" % (brokers, things))
                run, cpu, count = cluster.run(things)

                def cell(kind):
                    total = us_per_update(cpu[kind], run)
                    return "%.0f (%.0f)" % (total, total / count[kind])
                setup = "Redis Cluster, 1 broker" if brokers == 1 else \
                    "Redis Cluster, %d brokers via HAProxy" % brokers
                row([setup, str(things), "{:,.0f}".format(run["throughput"]), "%.1f" % run["latency_ms"]["p50"],
                     "%.1f" % run["latency_ms"]["p99"], cell("broker"), cell("master"), cell("replica"),
                     "%.0f" % us_per_update(cpu["haproxy"], run) if brokers > 1 else "-"])
                if brokers == 1:
                    cluster1[things] = run["throughput"]
    if rocksdb and cluster1:
        print("\nOne cluster-mode broker against one RocksDB-mode broker, same load:")
        for things, updates in cluster1.items():
            ratios = ["%s %.0f %%" % (setup.split(",")[0], 100.0 * updates / rocksdb[(setup, things)])
                      for setup in ("RocksDB, 1 broker", "RocksDB durable, 1 broker") if rocksdb.get((setup, things))]
            print("  %d things: %s" % (things, ", ".join(ratios)))


if __name__ == "__main__":
    main()
