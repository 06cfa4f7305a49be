"""The commands in the user documentation, run as written.

- The README's five-minute tour runs against a broker started with
  scripts/run-broker.sh (on free ports, in a temporary directory): the
  mosquitto_sub watcher, every mosquitto_pub/mosquitto_rr step, shadowctl and
  the examples. Each documented output block must appear in what the commands
  print, line by line in order, with timestamps as the only free values and
  `…` standing for any text.
- The blocks listed in doc_blocks.RUN (docs/mqtt-api.md, docs/rest-api.md,
  docs/shadowctl.md, docs/operations.md) run with bash or python3 against
  brokers started with scripts/run-broker.sh on free ports, one with the REST
  API and the credentials file of docs/configuration.md. Where a block's
  entry says so, the output block after it must match what it prints, as in
  the tour.
- Every shell block (```sh, ```bash, ```shell, ```console) and ```python
  block of every user document (README.md, docs/*.md, docker/README.md,
  examples/README.md, tests/*/README.md) is accounted for: its commands
  either run here or are listed in ELSEWHERE with the test or CI step that
  runs them (or why nothing can). A new command without either fails this
  test, so the documentation cannot quietly rot.

The mosquitto clients read their default port from $XDG_CONFIG_HOME/<client>
(a documented feature of the clients), so the commands run verbatim; only the
examples get an extra --port and shadowctl a SHADOWCTL_ENDPOINT.
"""

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import doc_blocks
from doc_blocks import commands, sh_blocks
from shadowtest import REPO
from shadowtest.mqtt import Client

README = os.path.join(REPO, "README.md")
GETTING_STARTED = os.path.join(REPO, "docs", "getting-started.md")
CONFIGURATION = os.path.join(REPO, "docs", "configuration.md")
WAIT_S = 15.0
BLOCK_TIMEOUT_S = 300  # one documented block, run as written

# Commands of the documents' shell blocks that this file does not run, and
# the test or CI step that runs them (or why nothing can).
ELSEWHERE = {
    # docs/scale-out.md: the Redis Cluster trial commands run in the
    # redis-cluster suites (tests/redis/with-cluster.sh starts and stops a
    # cluster with the same script).
    "scripts/redis-cluster.sh start": "redis_cluster.* (tests/redis/with-cluster.sh runs scripts/redis-cluster.sh start)",
    "scripts/redis-cluster.sh status": "redis_cluster.* (with-cluster.sh waits on the script's status)",
    "scripts/redis-cluster.sh nodes": "redis_cluster.* (with-cluster.sh passes the seed list to the tests)",
    "redis-cli -c -p 27001 GET 'sh:{dev1}'": "redis_cluster.contract reads records by their key layout",
    "scripts/redis-cluster.sh stop": "redis_cluster.* (with-cluster.sh stops the cluster)",
    'build/tests/unit_tests "[redis]"': "CI: every unit test runs through ctest",
    # docs/scale-out.md, running several brokers: redis_cluster.cluster_script runs
    # the same session (on free ports, with paho and urllib for the clients).
    "scripts/cluster.sh start --brokers 2 --http-auth none": "redis_cluster.cluster_script (start, free base port)",
    "mosquitto_sub -p 28842 -t '$aws/things/lamp/shadow/update/delta' -v &":
        "redis_cluster.cluster_script (a device subscribed to the delta on broker 2)",
    "mosquitto_pub -p 28841 -q 1 -t '$aws/things/lamp/shadow/update' -m '{\"state\":{\"desired\":{\"on\":true}}}'":
        "redis_cluster.cluster_script (the update through broker 1)",
    "curl -s http://127.0.0.1:28852/things/lamp/shadow": "redis_cluster.cluster_script (REST get on broker 2)",
    "scripts/cluster.sh status": "redis_cluster.cluster_script",
    "scripts/cluster-bench.py --brokers 1,2,3 --things 20,200 --duration 10":
        "not run (a benchmark of several minutes); redis_cluster.cluster_bench runs it short",
    "scripts/cluster.sh stop-broker 1": "redis_cluster.cluster_script (then start-broker 1)",
    "scripts/cluster.sh stop": "redis_cluster.cluster_script",
    "ctest --test-dir build -L redis-cluster --output-on-failure": "CI: scripts/test.sh runs every ctest entry",
    "scripts/install-deps.sh && scripts/build.sh && scripts/run-broker.sh":
        "CI: .ci/run runs scripts/test.sh (install-deps.sh, build.sh); run-broker.sh runs in this file",
    "scripts/test.sh": "CI: .ci/run",
    "docker compose -f docker/compose.yml up -d": "docker.e2e (with docker-compose v1)",
    "npm ci --prefix examples": "scripts/test.sh installs examples/ with npm ci",
    "scripts/build.sh": "CI: scripts/test.sh",
    "scripts/build.sh -DSHADOW_SANITIZE=ON": "scripts/ci-sanitize.sh",
    "SHADOW_BUILD_DIR=build-asan scripts/build.sh -DSHADOW_SANITIZE=ON": "scripts/ci-sanitize.sh",
    "scripts/test.sh -R rocksdb": "CI: scripts/test.sh (ctest arguments pass through)",
    "SHADOW_WERROR=OFF scripts/test.sh": "CI: scripts/test.sh",
    "scripts/run-broker.sh": "this file starts run-broker.sh (on a free port)",
    "docker compose -f docker/compose.yml --profile examples up":
        "not run: the examples image needs node:20-bookworm-slim from Docker Hub; docker.compose checks the services",
    "docker compose -f docker/compose.yml ps": "docker.e2e (ps -q broker)",
    "docker compose -f docker/compose.yml down -v": "docker.e2e",
    "ctest --test-dir build -R '^docker\\.'": "CI: scripts/test.sh runs every ctest entry",
    "scripts/gen-certs.sh certs sensor-17 sensor-18":
        "docker.stack_broker (through init-certs.sh) and tests/sdk/lib/broker.js run gen-certs.sh OUTDIR DEVICE...",
    # docs/benchmarks.md and docs/benchmarks/*.md: benchmark runs take minutes.
    # engine_bench is opt-in (SHADOW_BUILD_BENCHMARKS), so CI does not build it;
    # CI builds the load tools and smoke-tests shadow_loadgen.
    "cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSHADOW_BUILD_BENCHMARKS=ON":
        "not run: the opt-in benchmark build (needs libbenchmark-dev); CI configures the same CMakeLists without it",
    "cmake --build build-bench -j2 --target engine_bench": "not run: engine_bench is opt-in and not built by CI",
    "cmake --build build-bench -j2 --target engine_bench rules_bench":
        "not run: engine_bench and rules_bench are opt-in and not built by CI",
    "cmake --build build-bench -j2 --target rules_bench": "not run: rules_bench is opt-in and not built by CI",
    "./build-bench/tools/rules_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true":
        "not run (a benchmark; rules_bench is opt-in)",
    "./build-bench/tools/engine_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true":
        "not run (a benchmark of minutes; engine_bench is opt-in)",
    "cmake -S . -B build-bench-prof -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-g -DSHADOW_BUILD_TESTS=OFF "
    "-DSHADOW_BUILD_BENCHMARKS=ON": "not run: the opt-in benchmark build, for profiling",
    "cmake --build build-bench-prof -j2 --target engine_bench": "not run: engine_bench is opt-in and not built by CI",
    "valgrind --tool=callgrind --toggle-collect='*run_requests*' --callgrind-out-file=cg.out "
    "./build-bench-prof/tools/engine_bench --benchmark_filter=BM_UpdatePartial/ --benchmark_min_time=0.05":
        "not run (a profiling session of the opt-in engine_bench)",
    "callgrind_annotate --inclusive=yes cg.out | less": "not run (reads the profile above)",
    "cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2": "CI: scripts/build.sh",
    "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2": "CI: scripts/build.sh",
    "B=build/tools/shadow_loadgen; P=build/mosquitto_shadow.so": "loadgen.smoke runs shadow_loadgen --start-broker --plugin",
    "$B --start-broker --plugin $P --connections 20 --inflight 10 --payload-bytes 500 --qos 1 --duration 10":
        "loadgen.smoke runs shadow_loadgen --start-broker --plugin (shorter)",
    "$B --start-broker --plugin $P --sync-writes --connections 20 --inflight 10 --payload-bytes 500 --qos 1 --duration 10":
        "loadgen.smoke runs shadow_loadgen --start-broker --plugin (shorter)",
    "$B --start-broker --plugin $P --connections 20 --inflight 10 --payload-bytes 500 --qos 1 --duration 10 "
    "--rate 2000": "loadgen.smoke runs shadow_loadgen --start-broker --plugin (shorter)",
    "$B --start-broker --plugin $P --sync-writes --connections 20 --inflight 10 --payload-bytes 500 --qos 1 "
    "--duration 10 --rate 2000": "loadgen.smoke runs shadow_loadgen --start-broker --plugin (shorter)",
    "build/tools/shadow_loadgen --start-broker --baseline --connections 20 --inflight 10 --payload-bytes 500 "
    "--qos 1 --duration 10": "loadgen.smoke runs shadow_loadgen --start-broker (shorter)",
    "build/tools/shadow_loadgen --start-broker --sync-writes --duration 10": "loadgen.smoke (shorter)",
    "$B --start-broker --plugin $P --rate 1000 --duration 30 --storm-clients 1000 --storm-hold-ms 1000":
        "loadgen.storm_smoke runs the storm (tiny)",
    "$B --start-broker --plugin $P --rate 1000 --duration 30 --storm-clients 1000 --storm-hold-ms 1000 "
    "--plugin-opt presence_field=connected --plugin-opt acl_fallback=allow":
        "loadgen.storm_smoke runs the storm with the presence field (tiny)",
    "$B --start-broker --plugin $P --rate 1000 --duration 30 --storm-clients 1000 --storm-hold-ms 1000 "
    "--plugin-opt presence_field=connected --plugin-opt lifecycle_events=true "
    "--plugin-opt connect_detection=connect --plugin-opt acl_fallback=allow":
        "loadgen.storm_smoke runs the storm with the presence field (tiny); presence.lifecycle covers the rest",
    "build/tools/shadow_loadgen --start-broker --baseline --rate 4000 --duration 10": "loadgen.smoke (shorter)",
    "python3 scripts/bench-rules.py 100 /tmp/rules-bench-100": "not run (writes the rules of the 100-rule benchmark below)",
    "build/tools/shadow_loadgen --start-broker --plugin-opt rules=false --duration 8":
        "not run (a benchmark); loadgen.smoke runs shadow_loadgen --start-broker",
    "build/tools/shadow_loadgen --start-broker --duration 8": "loadgen.smoke (shorter)",
    "build/tools/shadow_loadgen --start-broker --plugin-opt rules_file=/tmp/rules-bench-100 --duration 8":
        "not run (a benchmark); rules.inputs applies a plugin_opt_rules_file directory at start",
    "build/tools/shadow_loader --start-broker --shadows 1000000 --data-dir /tmp/shadows-1m":
        "not run (a million shadows take minutes); CI builds shadow_loader",
    "build/tools/shadow_loader --start-broker --shadows 1000000 --data-dir /tmp/shadows-1m --no-load --no-restart":
        "not run (see above); CI builds shadow_loader",
    # docs/benchmarks/fleet.md
    "cmake --build build -j2 --target shadow_fleet_bench mosquitto_shadow": "CI: scripts/build.sh builds every target",
    "build/tools/shadow_fleet_bench --shadows 1000000 --data-dir /tmp/fleet-1m/db":
        "not run (a million shadows take minutes); loadgen.fleet_smoke runs shadow_fleet_bench on 2,000",
    "build/tools/shadow_fleet_bench --shadows 1000000 --data-dir /tmp/fleet-1m/db --no-fill":
        "not run (see above); loadgen.fleet_smoke runs shadow_fleet_bench",
    "build/tools/shadow_loadgen --start-broker --duration 10": "loadgen.smoke (shorter)",
    "build/tools/shadow_loadgen --start-broker --duration 10 --plugin-opt history_versions=10":
        "loadgen.smoke runs shadow_loadgen --start-broker (shorter); fleet.history runs history_versions",
    "SHADOW_PLUGIN=build/mosquitto_shadow.so PYTHONPATH=tests/lib python3 tests/rest/attack_bench.py":
        "rest.attack_bench_smoke runs it with --smoke (the full run takes a minute)",
    # docs/rules.md, pattern 3: its web service would listen on the fixed port 8000; the
    # Notification test of rules.patterns runs the same rule against an HTTP server of its own.
    "aws iot create-topic-rule --rule-name hot_devices --topic-rule-payload file://notify.json "
    "--endpoint-url http://127.0.0.1:8080": "rules.patterns (Notification: the same rule, a local HTTP server)",
    "mosquitto_pub -t '$aws/things/oven1/shadow/update' -m '{\"state\":{\"reported\":{\"temperature\":35}}}'":
        "rules.patterns (Notification: an update with temperature 35 is POSTed)",
    # docs/operations.md
    "cmake --install build --prefix /usr/local": "docker.dockerfile runs cmake --install of the build tree",
    "systemctl stop mosquitto": "cannot run here: no systemd on CI (the tar between them runs in this file)",
    "systemctl start mosquitto": "cannot run here: no systemd on CI",
    "mkdir -p /etc/systemd/system/mosquitto.service.d": "cannot run here: no systemd on CI",
    "printf '[Service]\\nLimitNOFILE=65536\\n' > /etc/systemd/system/mosquitto.service.d/limits.conf":
        "cannot run here: no systemd on CI; hardening.descriptors shows what running out of descriptors does",
    "systemctl daemon-reload": "cannot run here: no systemd on CI",
    "systemctl restart mosquitto": "cannot run here: no systemd on CI",
    "grep 'open files' /proc/$(pidof mosquitto)/limits": "cannot run here: no system broker on CI",
    "cp -a /var/lib/mosquitto-shadow /var/lib/mosquitto-shadow.bak":
        "cannot run here (a system broker's files); hardening.wal_damage recovers a damaged log the same way",
    "echo 'plugin_opt_wal_recovery point_in_time' >> /etc/mosquitto/conf.d/mosquitto-shadow.conf":
        "hardening.wal_damage starts a broker with plugin_opt_wal_recovery point_in_time after the refusal",
    "grep 'shadow: recovered the shadow database' /var/log/mosquitto/mosquitto.log":
        "hardening.wal_damage checks the broker log for this line",
    # docs/debian-package.md, and its path in the README and getting-started.md
    "sudo scripts/install-deps.sh": "CI: scripts/test.sh runs scripts/install-deps.sh (as root)",
    "scripts/package.sh": "package.build runs scripts/package.sh (revisions 1 and 2)",
    "sudo apt install ./mosquitto-shadow_0.1.0-1_amd64.deb":
        "package.system installs the built package with apt-get install",
    "sudo systemctl restart mosquitto":
        "cannot run here: no systemd on CI; package.system starts the broker as mosquitto.service would",
    "mosquitto_rr -t '$aws/things/dev1/shadow/update' -e '$aws/things/dev1/shadow/update/accepted' "
    "-m '{\"state\":{\"reported\":{\"on\":true}}}' -W 5":
        "package.system runs it against the installed package's broker and compares the output",
    # docs/security.md
    "mosquitto_sub -h localhost -p 8883 --cafile pki/ca.crt --cert pki/dev1.crt --key pki/dev1.key -i dev1 "
    "-t '$aws/things/dev1/shadow/update/+' -v &": "security.mtls (the same cert_cn broker, with paho)",
    "mosquitto_pub -h localhost -p 8883 --cafile pki/ca.crt --cert pki/dev1.crt --key pki/dev1.key -i dev1-pub "
    "-t '$aws/things/dev1/shadow/update' -q 1 -m '{\"state\":{\"reported\":{\"temp\":21}}}'":
        "security.mtls (the same cert_cn broker, with paho)",
    # docs/shadowctl.md: watch runs until Ctrl-C.
    "shadowctl watch dev1": "shadowctl.watch",
    "shadowctl watch dev1 --shadow config --mqtt-port 1884": "shadowctl.watch (--shadow, --mqtt-port)",
    "shadowctl watch dev1 --mqtt-port 8883 --mqtt-cafile ca.crt --mqtt-cert app.crt --mqtt-key app.key":
        "shadowctl.tls (watch over mutual TLS)",
    "shadowctl --json watch dev1 --count 1 --timeout 30": "shadowctl.watch (--json, --count, --timeout)",
    # docker/README.md: docker.e2e runs the stack with docker-compose v1.
    "docker compose -f docker/compose.yml exec broker mosquitto_sub -v -t '$aws/things/dev1/shadow/#'":
        "docker.e2e (exec into the broker; the tour's mosquitto_sub runs on the host there)",
    "docker/make-base-image.sh": "docker.e2e",
    "docker compose -f docker/compose.yml --profile cluster up -d cluster-lb":
        "docker.e2e (ClusterProfile: up -d cluster-lb on free ports)",
    "mosquitto_rr -p 1884 -t '$aws/things/lamp/shadow/update' -e '$aws/things/lamp/shadow/update/accepted' "
    "-m '{\"state\":{\"reported\":{\"on\":true}}}'":
        "docker.e2e (ClusterProfile: an update over MQTT through HAProxy)",
    "docker compose -f docker/compose.yml --profile cluster exec broker-2 mosquitto_rr -t "
    "'$aws/things/lamp/shadow/get' -e '$aws/things/lamp/shadow/get/accepted' -m '{}'":
        "docker.e2e (ClusterProfile: mosquitto_rr get inside each broker's container)",
    "docker compose -f docker/compose.yml exec broker shadowctl --credentials-file "
    "/mosquitto/certs/rest-credentials --json update dev1 --desired '{\"color\":\"yellow\"}'": "docker.e2e",
    "docker compose -f docker/compose.yml exec broker shadowctl --credentials-file "
    "/mosquitto/certs/rest-credentials --json get dev1": "docker.e2e",
    "docker compose -f docker/compose.yml exec broker shadowctl --credentials-file "
    "/mosquitto/certs/rest-credentials --json list dev1": "docker.e2e",
    "docker compose -f docker/compose.yml --profile examples run --rm application application.js --endpoint localhost "
    "--port 8883 --ca_file /certs/ca.crt --cert /certs/application.crt --key /certs/application.key --thing_name dev1 "
    "--desired '{\"lights\":\"on\"}'": "not run: the examples image needs node:20-bookworm-slim from Docker Hub; "
        "docker.examples runs application.js with these options",
    "docker compose -f docker/compose.yml logs device": "not run: the examples image needs Docker Hub (docker.compose)",
    "docker cp \"$(docker compose -f docker/compose.yml ps -q broker)\":/mosquitto/certs ./stack-certs": "docker.e2e",
    "mosquitto_rr -p 8883 --cafile stack-certs/ca.crt --cert stack-certs/dev1.crt --key stack-certs/dev1.key "
    "-t '$aws/things/dev1/shadow/get' -e '$aws/things/dev1/shadow/get/accepted' -n -W 5": "docker.e2e",
    "shadowctl --credentials-file stack-certs/rest-credentials get dev1": "docker.e2e",
    "docker build -f docker/Dockerfile -t mosquitto-shadow .": "docker.e2e builds the same Dockerfile (docker-compose build)",
    "docker volume create shadow-certs": "not run: docker.e2e makes the volumes through compose",
    "docker run --rm -v shadow-ca:/mosquitto/ca -v shadow-certs:/mosquitto/certs mosquitto-shadow shadow-init-certs":
        "docker.e2e (the certs service runs shadow-init-certs with these volumes); docker.stack_broker runs init-certs.sh",
    "docker run -d --name shadow -p 127.0.0.1:1883:1883 -p 8883:8883 -p 127.0.0.1:8080:8080 -v "
    "shadow-certs:/mosquitto/certs -v shadow-data:/mosquitto/data mosquitto-shadow":
        "docker.e2e runs the image's broker with these volumes and ports through compose",
    # examples/README.md
    "scripts/gen-certs.sh certs dev1 application": "security.mtls and tests/sdk/lib/broker.js run gen-certs.sh OUTDIR NAME...",
    "node examples/device.js --endpoint localhost --ca_file certs/ca.crt --cert certs/dev1.crt --key certs/dev1.key "
    "--thing_name dev1": "partly: docker.examples runs device.js over plain TCP, docker.stack_broker "
        "the stack's mutual TLS listener with these certificates",
    "docker cp \"$(docker compose -f docker/compose.yml ps -q broker)\":/mosquitto/certs ./certs":
        "docker.e2e runs the same docker cp (into ./stack-certs)",
    "cd aws-iot-device-sdk-python-v2/samples": "not run: the Python SDK is not packaged in Debian 12 (no PyPI); sdk.v2 runs the JS SDK",
    "python3 shadow.py --endpoint localhost --port 8883 --ca_file ../../certs/ca.crt --cert ../../certs/dev1.crt "
    "--key ../../certs/dev1.key --thing_name dev1 --client_id dev1 --shadow_property lights":
        "not run: the Python SDK is not packaged in Debian 12 (no PyPI); sdk.v2 runs the JS SDK's shadow sample flow",
    # tests/*/README.md: how to run the suites, which CI does.
    "cmake -S . -B build && cmake --build build -j2": "CI: scripts/build.sh",
    "cd build && ctest -R integration --output-on-failure": "CI: scripts/test.sh runs every ctest entry",
    "cd tests/integration": "CI: ctest runs the integration suites from tests/integration",
    "PYTHONPATH=../lib SHADOW_PLUGIN=$PWD/../../build/mosquitto_shadow.so /usr/bin/python3 -m unittest -v test_rejections":
        "CI: ctest integration.rejections runs the same command",
    "npm ci --prefix tests/sdk": "CI: scripts/test.sh",
    "ctest --test-dir build -R sdk": "CI: scripts/test.sh runs every ctest entry",
    "cd tests/sdk && SHADOW_PLUGIN=../../build/mosquitto_shadow.so node --test --test-force-exit": "CI: ctest sdk.v2, sdk.v1",
}


def tour_blocks():
    with open(README) as f:
        text = f.read()
    start = text.index("\n## A five-minute tour")
    end = text.index("\n## ", start + 1)
    first_line = text[:start].count("\n") + 1
    section = [(n, lang, body) for n, lang, body in sh_blocks(README)
               if first_line <= n <= first_line + text[start:end].count("\n")]
    return section


def output_after(path, line):
    """The lines of the plain ``` block right after the block at `line` of
    `path` (what the block prints), or None."""
    blocks = sh_blocks(path)
    for i, (n, _lang, _body) in enumerate(blocks):
        if n == line and i + 1 < len(blocks) and blocks[i + 1][1] == "":
            return [l for l in blocks[i + 1][2].split("\n") if l.strip()]
    return None


def mosquitto_client_config(directory, port):
    """An XDG_CONFIG_HOME under `directory` whose files give mosquitto_pub,
    mosquitto_sub and mosquitto_rr the broker on `port` as their default."""
    xdg = os.path.join(directory, "xdg")
    os.makedirs(xdg, exist_ok=True)
    for client in ("mosquitto_pub", "mosquitto_sub", "mosquitto_rr"):
        with open(os.path.join(xdg, client), "w") as f:
            f.write("-h 127.0.0.1\n-p %d\n" % port)
    return xdg


def line_pattern(documented):
    """A regex for one documented output line: timestamps are free, `…` is
    any text, everything else literal."""
    parts = [re.escape(p) for p in documented.split("…")]
    rx = ".*?".join(parts)
    rx = re.sub(r"(?<![0-9])17\d{8}(?![0-9])", r"\\d+", rx)
    return re.compile("^" + rx + "$")


class Lines:
    """Collects the stdout lines of a process on a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    @classmethod
    def of(cls, lines):
        """The lines a command already printed."""
        collected = cls.__new__(cls)
        collected.proc = None
        collected.q = queue.Queue()
        for line in lines:
            collected.q.put(line)
        collected.q.put(None)
        collected.seen = []
        return collected

    def expect(self, documented, timeout=WAIT_S, what="output"):
        """Consumes lines until every documented line matched, in order."""
        deadline = time.monotonic() + timeout
        consumed = []
        for doc in documented:
            pattern = line_pattern(doc)
            while True:
                left = deadline - time.monotonic()
                try:
                    line = self.q.get(timeout=max(left, 0.01))
                except queue.Empty:
                    line = None
                if line is None:
                    raise AssertionError("%s: no line matching the documented\n  %s\nafter:\n  %s"
                                         % (what, doc, "\n  ".join(consumed)))
                consumed.append(line)
                self.seen.append(line)
                if pattern.match(line):
                    break


class ReadmeTour(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="shadow-docker-docs-")
        cls.procs = []
        cls.blocks = tour_blocks()
        run_broker = [c for _, lang, b in cls.blocks if lang == "sh" for c in commands(b)
                      if c.startswith("scripts/run-broker.sh")]
        assert len(run_broker) == 1, run_broker
        cls.start_broker(shlex.split(run_broker[0])[1:])
        # Default port of the mosquitto clients, read from their config files.
        cls.xdg = mosquitto_client_config(cls.tmp, cls.port)

    @classmethod
    def start_broker(cls, args):
        """scripts/run-broker.sh with the README's arguments, the port and the
        REST port moved to free ones, the data in the temporary directory."""
        if not os.environ.get("SHADOW_BUILD_DIR"):
            raise AssertionError("SHADOW_BUILD_DIR (the CMake build tree) is not set; "
                                 "tests/docker/CMakeLists.txt sets it")
        cls.broker = doc_blocks.RunBroker(args, cls.tmp, "data")
        cls.port, cls.http_port = cls.broker.port, cls.broker.http_port

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            # The reader thread closes nothing and ends at EOF; the pipe is
            # released with the Popen object.
        cls.broker.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self):
        env = dict(os.environ, XDG_CONFIG_HOME=self.xdg,
                   SHADOWCTL_ENDPOINT="http://127.0.0.1:%d" % self.http_port)
        return env

    def start(self, command):
        """Starts a long-running command (argument list; no shell, so a
        signal reaches the program itself)."""
        p = subprocess.Popen(command, cwd=REPO, env=self.env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        return Lines(p)

    def run_command(self, command):
        r = subprocess.run(command, cwd=REPO, env=self.env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "%s\n%s%s" % (command, r.stdout, r.stderr))
        return r.stdout

    def wait_until_subscribed(self, watcher, argv):
        """mosquitto_sub prints nothing when its subscription is made, so a
        retained marker under its filter is published: it shows up in the
        output once the subscription exists (at once if it already does)."""
        topic_filter = argv[argv.index("-t") + 1]
        self.assertTrue(topic_filter.endswith("/#"), "the tour's filter changed: %r" % topic_filter)
        marker = topic_filter[:-1] + "tour-ready"
        c = Client(self.port, "tour-marker")
        try:
            c.publish(marker, b"ready", retain=True)
            watcher.expect([(marker + " ready") if "-v" in argv else "ready"],
                           what="the marker of mosquitto_sub's subscription")
            c.publish(marker, b"", retain=True)  # removes it again
        finally:
            c.close()

    def shadowctl(self, command):
        binary = os.environ.get("SHADOWCTL")
        if not binary:
            self.fail("SHADOWCTL (the built shadowctl) is not set; the tour uses it")
        return [binary] + shlex.split(command)[1:]

    def test_the_tour_as_written(self):
        blocks = self.blocks
        watcher = None
        device = None
        i = 0
        while i < len(blocks):
            line, lang, body = blocks[i]
            if lang != "sh":
                i += 1
                continue
            documented = None
            if i + 1 < len(blocks) and blocks[i + 1][1] == "":
                documented = [l for l in blocks[i + 1][2].split("\n") if l.strip()]
            where = "README.md line %d" % line
            out = []
            for cmd in commands(body):
                prog = shlex.split(cmd)[0]
                if prog == "mosquitto_sub":
                    watcher = self.start(shlex.split(cmd))
                    self.wait_until_subscribed(watcher, shlex.split(cmd))
                elif prog in ("mosquitto_pub", "mosquitto_rr"):
                    out += self.run_command(shlex.split(cmd)).splitlines()
                elif prog == "build/shadowctl":
                    out += self.run_command(self.shadowctl(cmd)).splitlines()
                elif prog == "node" and "examples/device.js" in cmd:
                    device = self.start(shlex.split(cmd) + ["--port", str(self.port)])
                    device.expect(["[device …] waiting for deltas (Ctrl-C to stop)"], what=where)
                elif prog == "node" and "examples/application.js" in cmd:
                    out += self.run_command(shlex.split(cmd) + ["--port", str(self.port)]).splitlines()
                elif cmd.startswith("scripts/run-broker.sh") or cmd.startswith("npm ci"):
                    pass  # the broker runs with these options; npm ci ran in scripts/test.sh
                else:
                    self.fail("%s: the tour test does not know how to run %r" % (where, cmd))
            if documented is not None:
                if prog == "mosquitto_pub":
                    self.assertIsNotNone(watcher, where)
                    watcher.expect(documented, what=where)
                else:
                    Lines.of(out).expect(documented, what=where)
                i += 2
            else:
                i += 1
        self.assertIsNotNone(watcher, "the tour starts no mosquitto_sub")
        self.assertIsNotNone(device, "the tour runs no example device")
        # The device followed the application's delta (README: "The device
        # prints the delta it received and its new report").
        device.expect(['[device dev2] delta {"lights":"off"} (version 2)',
                       '[device dev2] reported {"lights":"off"} -> version 3'], what="device")


class OtherDocumentsRun(unittest.TestCase):
    """The blocks of doc_blocks.RUN, run with bash (python blocks with
    python3) in a fresh directory each. Ports, the credentials file and
    system paths are replaced the way the README tour does it; shadowctl is
    the built one (on PATH), aws is Debian's AWS CLI v2."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("SHADOW_BUILD_DIR"):
            raise AssertionError("SHADOW_BUILD_DIR (the CMake build tree) is not set; "
                                 "tests/docker/CMakeLists.txt sets it")
        cls.tmp = tempfile.mkdtemp(prefix="shadow-docker-docs-other-")
        cls.bin = os.path.join(cls.tmp, "bin")
        os.makedirs(cls.bin)
        shadowctl = os.environ.get("SHADOWCTL")
        if shadowctl:
            os.symlink(shadowctl, os.path.join(cls.bin, "shadowctl"))
        # The credentials file as docs/configuration.md shows it.
        example = [b for _, lang, b in sh_blocks(CONFIGURATION) if lang == "" and "AKIDSHADOWADMIN0001" in b]
        assert len(example) == 1, example
        cls.creds = os.path.join(cls.tmp, "shadow-credentials")
        with open(cls.creds, "w") as f:
            f.write(example[0] + "\n")
        os.chmod(cls.creds, 0o600)
        key, secret = example[0].split("\n")[-1].split()
        cls.keys = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                    "AWS_DEFAULT_REGION": "us-east-1"}
        cls.sigv4 = doc_blocks.RunBroker(
            ["--opt", "http_listen=127.0.0.1:8080", "--opt", "http_credentials_file=" + cls.creds],
            cls.tmp, "sigv4")

    @classmethod
    def tearDownClass(cls):
        cls.sigv4.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_run_entry_names_a_block(self):
        keys = {(os.path.relpath(p, REPO), k) for p, _, lang, body in doc_blocks.shell_blocks()
                for k in doc_blocks.block_keys(lang, body)}
        self.assertEqual([k for k in doc_blocks.RUN if k not in keys], [], "stale doc_blocks.RUN keys")

    def test_the_blocks_as_written(self):
        if not os.environ.get("SHADOWCTL"):
            self.fail("SHADOWCTL (the built shadowctl) is not set; the documents use it")
        ran = 0
        for path, n, lang, body in doc_blocks.shell_blocks():
            rel = os.path.relpath(path, REPO)
            entry = doc_blocks.run_entry(rel, lang, body)
            if entry is None:
                continue
            with self.subTest(block="%s:%d" % (rel, n)):
                self.run_block("%s:%d" % (rel, n), lang, body, entry, output_after(path, n))
            ran += 1
        self.assertEqual(ran, len(doc_blocks.RUN))

    def run_block(self, where, lang, body, entry, documented):
        work = tempfile.mkdtemp(prefix="block-", dir=self.tmp)
        brokers = []
        endpoint_broker = self.sigv4 if entry.get("broker") == "sigv4" else None
        mqtt_broker = endpoint_broker
        try:
            script = []
            if lang != "python":
                for cmd in commands(body, lang):
                    if cmd in entry.get("skip", ()):
                        continue
                    if cmd.startswith("scripts/run-broker.sh"):
                        # The documented credentials file is the test's, as in the commands below.
                        args = shlex.split(cmd.replace("/etc/mosquitto/shadow-credentials", self.creds))[1:]
                        b = doc_blocks.RunBroker(args, work, "broker%d" % len(brokers))
                        brokers.append(b)
                        mqtt_broker = b
                        if b.http_port:
                            endpoint_broker = b
                        continue
                    if cmd in entry.get("allow_exit", {}):
                        cmd = "%s || test $? -eq %d" % (cmd, entry["allow_exit"][cmd])
                    script.append(cmd)
            env = dict(os.environ, PATH=self.bin + ":/usr/bin:/bin", **self.keys)
            if mqtt_broker is not None:
                env["XDG_CONFIG_HOME"] = mosquitto_client_config(work, mqtt_broker.port)
            subs = {"/etc/mosquitto/shadow-credentials": self.creds}
            if endpoint_broker is not None:
                env["SHADOWCTL_ENDPOINT"] = "http://127.0.0.1:%d" % endpoint_broker.http_port
                subs["127.0.0.1:8080"] = "127.0.0.1:%d" % endpoint_broker.http_port
            for old, new in entry.get("subs", {}).items():
                subs[old] = new.replace("{tmp}", work).replace("{repo}", REPO)

            def substituted(text):
                for old, new in subs.items():
                    text = text.replace(old, new)
                return text

            setup = "\n".join(entry.get("setup", []))
            if setup:
                r = subprocess.run(["/bin/bash", "-eo", "pipefail", "-c", setup], cwd=work, env=env,
                                   capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
                self.assertEqual(r.returncode, 0, "%s: setup failed:\n%s%s" % (where, r.stdout, r.stderr))
            if lang == "python":
                argv = ["/usr/bin/python3", "-c", substituted(body)]
            else:
                options = "set -eo pipefail" if entry.get("errexit", True) else "set -o pipefail"
                text = "\n".join([options] + script + [entry.get("post", "")])
                argv = ["/bin/bash", "-c", substituted(text)]
            # Generous: a block of six AWS CLI calls (each a Python start-up
            # of seconds) took over a minute on a loaded 2-core machine.
            r = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
            self.assertEqual(r.returncode, 0, "%s exited with %d:\n%s\n--- stdout\n%s--- stderr\n%s"
                             % (where, r.returncode, argv[-1], r.stdout, r.stderr))
            for text in entry.get("expect", []):
                self.assertIn(text, r.stdout, "%s: output lacks %r" % (where, text))
            if entry.get("output"):
                self.assertIsNotNone(documented, "%s: no output block follows it" % where)
                Lines.of(r.stdout.splitlines()).expect(documented, timeout=0, what=where)
            if "check_dir" in entry:
                self.assertTrue(os.path.isdir(os.path.join(work, entry["check_dir"])), where)
        finally:
            for b in brokers:
                b.stop()


class EveryCommandIsExercised(unittest.TestCase):

    def test_every_shell_block_is_run_here_or_elsewhere(self):
        unaccounted = []
        for path, n, lang, body in doc_blocks.shell_blocks():
            rel = os.path.relpath(path, REPO)
            if lang == "python":
                if doc_blocks.run_entry(rel, lang, body) is None:
                    unaccounted.append("%s:%d: a python block (run it in doc_blocks.RUN)" % (rel, n))
                continue
            entry = doc_blocks.run_entry(rel, lang, body)
            for cmd in commands(body, lang):
                if cmd in ELSEWHERE or (entry is not None and cmd not in entry.get("skip", ())):
                    continue
                if not self.runs_in_tour(path, cmd):
                    unaccounted.append("%s:%d: %s" % (rel, n, cmd))
        self.assertEqual(unaccounted, [], "run these commands in doc_blocks.RUN, or list them "
                                         "in ELSEWHERE with the test or CI step that runs them")

    def test_every_skipped_command_is_listed_elsewhere(self):
        for key, entry in doc_blocks.RUN.items():
            for cmd in entry.get("skip", ()):
                self.assertIn(cmd, ELSEWHERE, "%s skips %r" % (key, cmd))

    def runs_in_tour(self, path, cmd):
        # Other documents repeat commands of the README tour, which the tour
        # test runs.
        tour_cmds = {c for _, lang, b in tour_blocks() if lang == "sh" for c in commands(b)}
        return cmd in tour_cmds


if __name__ == "__main__":
    unittest.main()
