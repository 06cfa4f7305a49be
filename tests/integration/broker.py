"""Test harness: a real Mosquitto broker with the shadow plugin, on loopback.

Every broker gets a free port on 127.0.0.1, its own temporary directory (config,
log, RocksDB data) and is always stopped by the test that started it. Every
wait in here is bounded.

The plugin path comes from the SHADOW_PLUGIN environment variable, which the
CMake test registration sets to the built mosquitto_shadow module.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

MOSQUITTO = os.environ.get("SHADOW_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def plugin_path():
    path = os.environ.get("SHADOW_PLUGIN", "")
    if not path or not os.path.isfile(path):
        raise RuntimeError(
            "SHADOW_PLUGIN must name the built mosquitto_shadow plugin (got %r)" % path)
    return path


def free_port():
    """A port the kernel just handed out; there is a small race until mosquitto binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerError(Exception):
    pass


class Broker:
    """One mosquitto process. `options` become plugin_opt_<key> lines; `extra`
    are raw mosquitto.conf lines. The data directory survives restart()."""

    def __init__(self, options=None, extra=None, data_dir=None, with_db_path=True):
        self.dir = tempfile.mkdtemp(prefix="shadow-itest-")
        self.data_dir = data_dir or os.path.join(self.dir, "db")
        self.options = dict(options or {})
        self.extra = list(extra or [])
        self.with_db_path = with_db_path
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.port = None
        self.proc = None
        self._log_file = None

    # --- configuration -----------------------------------------------------
    def config_text(self):
        lines = []
        if os.geteuid() == 0:
            # Otherwise the broker drops to user 'mosquitto' before plugin init
            # and cannot open the root-owned data directory.
            lines.append("user root")
        lines += [
            "listener %d 127.0.0.1" % self.port,
            "allow_anonymous true",
            "persistence false",
            # stderr is unbuffered; stdout would stay empty until exit.
            "log_dest stderr",
            "log_type all",
            "set_tcp_nodelay true",  # replies leave at once; keeps the suite fast
        ]
        lines += self.extra
        lines.append("plugin %s" % plugin_path())
        if self.with_db_path:
            lines.append("plugin_opt_db_path %s" % self.data_dir)
        for key, value in self.options.items():
            lines.append("plugin_opt_%s %s" % (key, value))
        return "\n".join(lines) + "\n"

    def _write_config(self):
        with open(self.conf_path, "w") as f:
            f.write(self.config_text())

    # --- lifecycle ---------------------------------------------------------
    def _spawn(self):
        self._write_config()
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=self._log_file)

    def start(self):
        """Start and wait until the listener accepts connections. The listener
        opens only after plugin init succeeded, so readiness implies the plugin
        loaded. Retries with a new port if the port was taken meanwhile."""
        for _attempt in range(3):
            self.port = free_port()
            log_offset = self._log_size()
            self._spawn()
            if self._wait_ready():
                return self
            code = self.proc.returncode
            tail = self.log(since=log_offset)
            self._close_log()
            if "Address already in use" in tail:
                continue
            raise BrokerError("mosquitto exited with %r during start-up:\n%s" % (code, tail))
        raise BrokerError("could not find a free port for mosquitto")

    def start_expect_exit(self, timeout=START_TIMEOUT_S):
        """Start a broker that is expected to refuse to start. Returns
        (returncode, log). Raises if it is still running after `timeout`."""
        self.port = free_port()
        self._spawn()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise BrokerError("mosquitto did not exit; log:\n" + self.log())
        self._close_log()
        return code, self.log()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        self.kill9()
        raise BrokerError("mosquitto not ready after %.0f s; log:\n%s" % (START_TIMEOUT_S, self.log()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close_log()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close_log()

    def restart(self):
        """Clean stop, then start again on the same data directory."""
        self.stop()
        return self.start()

    def cleanup(self):
        self.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- log ---------------------------------------------------------------
    def _log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
