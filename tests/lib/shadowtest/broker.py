"""A real Mosquitto broker with the shadow plugin, on loopback ports.

Every broker gets free ports on 127.0.0.1, its own temporary directory
(config, log, RocksDB data) and is stopped by the test that started it.
Every wait in here is bounded.

Two ways to configure it:
- generated (the default): one listener, anonymous access, the plugin with
  `options` as plugin_opt_<key> lines and `extra` raw mosquitto.conf lines;
- given (`Broker.from_config`): the caller writes the whole configuration
  from the ports it is handed, e.g. the Docker stack's file with its
  listeners moved to free ports.

The plugin comes from SHADOW_PLUGIN and the broker binary from
SHADOW_MOSQUITTO (tests/CMakeLists.txt sets both).

Cluster mode: with SHADOW_TEST_STORE=redis-cluster in the environment, a
generated Broker is a cluster of two brokers (this one and a peer with the
same configuration on its own ports) sharing a Redis Cluster
(plugin_opt_store redis-cluster), with a key prefix of its own. `port` (and
a RestBroker's `http_port`) then alternates between the two brokers at each
use, so that the clients of one test land on different brokers and every
answer and event must cross between them. log() shows both brokers' logs.
The Redis nodes come from SHADOW_REDIS_NODES, or the file named by
SHADOW_REDIS_NODES_FILE (the ctest fixture of tests/cluster writes it). The
same suites thus run against RocksDB and against a 2-broker cluster.
"""

import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

MOSQUITTO = os.environ.get("SHADOW_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
START_ATTEMPTS = 3  # a port handed out by free_ports() may be taken before mosquitto binds it
LOG_KEPT_CHARS = 20000


def plugin_path():
    path = os.environ.get("SHADOW_PLUGIN", "")
    if not path or not os.path.isfile(path):
        raise RuntimeError(
            "SHADOW_PLUGIN must name the built mosquitto_shadow plugin (got %r)" % path)
    return path


def free_ports(n):
    """n distinct ports the kernel just handed out (held open together, so
    they differ). Someone may take one before the broker binds it: callers
    retry with new ports when the broker reports an address in use."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def listening(port):
    """True when 127.0.0.1:port (or 0.0.0.0:port) is in LISTEN state. Reading
    /proc avoids a TCP probe, which the broker would log as a client."""
    wanted = {"0100007F:%04X" % port, "00000000:%04X" % port}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] in wanted and fields[3] == "0A":
                return True
    return False


def wait_listening(proc, ports, timeout=START_TIMEOUT_S):
    """Waits until every port listens. False if `proc` exited first; None if
    the time ran out (the process is left running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if all(listening(p) for p in ports):
            # A process that lost the race for a port may have found it
            # listening (someone else's socket) just before exiting.
            return proc.poll() is None
        time.sleep(0.05)
    return None


def address_in_use(log):
    # Mosquitto's own listeners and the plugin's HTTP listener both report
    # EADDRINUSE with strerror's text.
    return "Address already in use" in log


class BrokerError(Exception):
    pass


def cluster_mode():
    """True when the suites run against a 2-broker cluster (see above)."""
    return os.environ.get("SHADOW_TEST_STORE", "rocksdb") == "redis-cluster"


def redis_nodes():
    """host:port,... of the Redis Cluster the cluster-mode brokers use."""
    nodes = os.environ.get("SHADOW_REDIS_NODES", "")
    path = os.environ.get("SHADOW_REDIS_NODES_FILE", "")
    if not nodes and path:
        with open(path) as f:
            nodes = f.read().strip()
    if not nodes:
        raise RuntimeError("cluster mode needs SHADOW_REDIS_NODES or SHADOW_REDIS_NODES_FILE "
                           "(ctest -L redis-cluster sets it up)")
    return nodes


def cluster_options(options, key_prefix):
    """The plugin options of a cluster-mode broker: `options` plus the Redis
    store. The plugin's ACL check, which cluster mode needs to learn the
    subscriptions, answers 'allow' unless the test chose otherwise."""
    out = dict(options)
    out["store"] = "redis-cluster"
    out.setdefault("redis_nodes", redis_nodes())
    out.setdefault("redis_key_prefix", key_prefix)
    if "acl_fallback" not in out and out.get("thing_identity", "none") == "none":
        out["acl_fallback"] = "allow"
    return out


class Broker:
    """One mosquitto process. The data directory survives restart(); every
    start picks new free ports (`port` is the MQTT listener, `ports` all of
    them)."""

    port_count = 1  # subclasses with more listeners raise it

    def __init__(self, options=None, extra=None, data_dir=None, with_db_path=True, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="shadow-test-")
        self.data_dir = data_dir or os.path.join(self.dir, "db")
        self.options = dict(options or {})
        self.extra = list(extra or [])
        self.with_db_path = with_db_path
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.ports = []
        self.proc = None
        self._make_config = None
        self._log_file = None
        self._log_kept = ""  # the end of the log, once cleanup() removed the file
        # Cluster mode (see the module comment).
        self.cluster = cluster_mode()
        self.key_prefix = "t%s:" % uuid.uuid4().hex[:12]
        self.peer = None        # the second broker, once started
        self._is_peer = False
        self._turn = 0          # which broker `port` names next

    @classmethod
    def from_config(cls, make_config, port_count=1, directory=None):
        """A broker run with a configuration the caller writes:
        make_config(ports) returns the whole mosquitto.conf text for
        `port_count` free loopback ports, and is called again with new ports
        when one was taken meanwhile. The text names its own plugin, data and
        log paths; `directory` (a new temporary one by default) holds the
        configuration file and the broker's stderr."""
        broker = cls(directory=directory)
        broker._make_config = make_config
        broker.port_count = port_count
        broker.cluster = False  # the caller's configuration decides the store
        return broker

    @property
    def port(self):
        """The MQTT port; in cluster mode each use names the next broker."""
        return self.listener_port(0)

    def listener_port(self, index):
        """Port number `index` of this broker, or in cluster mode of the
        broker whose turn it is (alternating at each call)."""
        if not self.ports:
            return None
        if self.peer is None or not self.peer.ports:
            return self.ports[index]
        self._turn += 1
        return (self.ports if self._turn % 2 == 1 else self.peer.ports)[index]

    def brokers(self):
        """Every broker process of this object: itself, and the peer in cluster mode."""
        return [self] + ([self.peer] if self.peer is not None else [])

    # --- configuration -----------------------------------------------------
    def assign_ports(self, ports):
        """Subclasses with more listeners put their ports into options here."""
        self.ports = list(ports)

    def plugin_options(self):
        """The plugin_opt_* lines (without the prefix) for this broker's ports."""
        if self.cluster:
            return cluster_options(self.options, self.key_prefix)
        return dict(self.options)

    def config_text(self):
        if self._make_config is not None:
            return self._make_config(list(self.ports))
        lines = []
        if os.geteuid() == 0:
            # Otherwise the broker drops to user 'mosquitto' before plugin init
            # and cannot open the root-owned data directory.
            lines.append("user root")
        lines += [
            "listener %d 127.0.0.1" % self.ports[0],
            "allow_anonymous true",
            "persistence false",
            # stderr is unbuffered; stdout would stay empty until exit.
            "log_dest stderr",
            "log_type all",
            "set_tcp_nodelay true",  # replies leave at once; keeps the suite fast
        ]
        lines += self.extra
        lines.append("plugin %s" % plugin_path())
        if self.with_db_path and not self.cluster:
            lines.append("plugin_opt_db_path %s" % self.data_dir)
        for key, value in self.plugin_options().items():
            lines.append("plugin_opt_%s %s" % (key, value))
        return "\n".join(lines) + "\n"

    # --- lifecycle ---------------------------------------------------------
    def _spawn(self):
        with open(self.conf_path, "w") as f:
            f.write(self.config_text())
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=self._log_file)

    def start(self):
        """Starts and waits until every listener listens. The MQTT listeners
        open only after plugin init succeeded, so readiness implies the
        plugin loaded. Retries with new ports if one was taken meanwhile.
        In cluster mode, starts the peer broker too."""
        self._start_one()
        if self.cluster and not self._is_peer:
            if self.peer is None:
                self.peer = self._make_peer()
            try:
                self.peer._start_one()
            except BaseException:
                self.kill9()
                raise
        return self

    def _make_peer(self):
        """The second broker of cluster mode: the same configuration, its own
        ports, configuration file and log in this broker's directory."""
        peer = copy.copy(self)
        peer.options = dict(self.options)
        peer.extra = list(self.extra)
        peer.ports = []
        peer.proc = None
        peer.peer = None
        peer._is_peer = True
        peer._log_file = None
        peer._log_kept = ""
        peer.conf_path = os.path.join(self.dir, "peer.conf")
        peer.log_path = os.path.join(self.dir, "peer.log")
        return peer

    def _start_one(self):
        for _attempt in range(START_ATTEMPTS):
            self.assign_ports(free_ports(self.port_count))
            log_offset = self._own_log_size()
            self._spawn()
            ready = wait_listening(self.proc, self.ports)
            if ready:
                return self
            if ready is None:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
                self._close_own_log()
                raise BrokerError("mosquitto did not listen on %s within %.0f s; log:\n%s"
                                  % (self.ports, START_TIMEOUT_S, self._own_log()))
            self.proc.wait(timeout=STOP_TIMEOUT_S)
            tail = self._own_log(since=log_offset)
            self._close_own_log()
            if address_in_use(tail):
                continue
            raise BrokerError("mosquitto exited with %r during start-up:\n%s"
                              % (self.proc.returncode, tail))
        raise BrokerError("no free ports for mosquitto after %d attempts" % START_ATTEMPTS)

    def start_expect_exit(self, timeout=START_TIMEOUT_S):
        """Starts a broker that is expected to refuse to start. Returns
        (returncode, log). Raises if it is still running after `timeout`."""
        self.assign_ports(free_ports(self.port_count))
        self._spawn()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise BrokerError("mosquitto did not exit; log:\n" + self.log())
        self._close_log()
        return code, self.log()

    def alive(self):
        return all(b.proc is not None and b.proc.poll() is None for b in self.brokers())

    def stop(self):
        """SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL. Returns the exit
        code (in cluster mode the first non-zero one of the two)."""
        codes = [b._stop_one() for b in self.brokers()]
        return next((c for c in codes if c), codes[0])

    def _stop_one(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close_own_log()
        return self.proc.returncode

    def kill9(self):
        for b in self.brokers():
            if b.proc is not None and b.proc.poll() is None:
                b.proc.kill()
                b.proc.wait(timeout=STOP_TIMEOUT_S)
            b._close_own_log()

    def restart(self):
        """Clean stop, then start again on the same data directory."""
        self.stop()
        return self.start()

    def cleanup(self):
        """Kills the broker and removes its directory; the end of the log
        stays readable through log()."""
        self.kill9()
        for b in self.brokers():
            b._log_kept = b._own_log()[-LOG_KEPT_CHARS:]
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- log ---------------------------------------------------------------
    def log_size(self):
        """The log's current length in bytes (an offset for log() and
        wait_for_log()); in cluster mode a pair, one per broker."""
        if self.peer is not None:
            return (self._own_log_size(), self.peer._own_log_size())
        return self._own_log_size()

    def _own_log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        """The broker's output from offset `since` (a log_size() value; after
        cleanup(), the last LOG_KEPT_CHARS characters of it). In cluster mode
        the peer's log follows this broker's."""
        if self.peer is None:
            return self._own_log(since if isinstance(since, int) else since[0])
        mine, theirs = (since, 0) if isinstance(since, int) else since
        return self._own_log(mine) + "\n--- peer broker ---\n" + self.peer._own_log(theirs)

    def _own_log(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return self._log_kept

    def wait_for_log(self, text, since=0, timeout=START_TIMEOUT_S):
        """Waits until `text` appears in the log after offset `since`; returns
        whether it did. For events a broker shows only in its log (a refused
        Will, for one). Polls the file: the log is the only observer."""
        deadline = time.monotonic() + timeout
        while text not in self.log(since):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def report_if_exited(self, expected=(None,)):
        """Writes the log to stderr if the process exited with a status not
        in `expected` (None: still running). An unexpected broker exit is the
        most useful thing to see in a failure."""
        for b in self.brokers():
            code = b.proc.poll() if b.proc is not None else None
            if code not in expected:
                sys.stderr.write("\n--- broker log (process exited with %r) ---\n%s\n"
                                 % (code, b._own_log()[-6000:]))

    def _close_log(self):
        for b in self.brokers():
            b._close_own_log()

    def _close_own_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
