"""Helpers of the tests/docker checks: repository paths, a Mosquitto process
started from a given configuration file, a one-request MQTT client (plain or
mutual TLS), and the rewriting of the Docker stack's broker configuration to
a temporary directory and free loopback ports.

There is no Docker engine on CI, so these tests run what the image would run
(the broker configuration, the plugin, the helper scripts, the examples)
directly on the machine. Every wait is bounded.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCKER_DIR = os.path.join(REPO, "docker")
STACK_CONFIG = os.path.join(DOCKER_DIR, "config", "mosquitto.conf")
COMPOSE_FILE = os.path.join(DOCKER_DIR, "compose.yml")
DOCKERFILE = os.path.join(DOCKER_DIR, "Dockerfile")
GEN_CERTS = os.path.join(REPO, "scripts", "gen-certs.sh")
INIT_CERTS = os.path.join(DOCKER_DIR, "init-certs.sh")
HEALTHCHECK = os.path.join(DOCKER_DIR, "healthcheck.sh")

# Where the Dockerfile puts the plugin (cmake --install --prefix /usr/local).
IMAGE_PLUGIN_PATH = "/usr/local/lib/mosquitto-shadow/mosquitto_shadow.so"

MOSQUITTO = os.environ.get("SHADOW_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 10.0


def plugin_path():
    path = os.environ.get("SHADOW_PLUGIN", "")
    if not path or not os.path.isfile(path):
        raise RuntimeError("SHADOW_PLUGIN must name the built mosquitto_shadow plugin (got %r)" % path)
    return path


def free_ports(n):
    """n distinct ports the kernel just handed out (held open together, so
    they differ); the broker may still lose a race for one, so callers retry."""
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


def listening(port):
    """True when 127.0.0.1:port (or 0.0.0.0:port) is in LISTEN state. Reading
    /proc avoids a TCP probe, which the plugin would log as a client."""
    wanted = {"0100007F:%04X" % port, "00000000:%04X" % port}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] in wanted and fields[3] == "0A":
                return True
    return False


class BrokerError(Exception):
    pass


class ConfigBroker:
    """A mosquitto started with a configuration file written by the caller."""

    def __init__(self, directory):
        self.dir = directory
        self.conf_path = os.path.join(directory, "mosquitto.conf")
        self.log_path = os.path.join(directory, "mosquitto.log")
        self.proc = None

    def start(self, config_text, ports):
        """Writes the configuration, starts the broker and waits until every
        port in `ports` listens. Returns False if the broker exited because
        an address was in use (the caller picks new ports), raises otherwise."""
        with open(self.conf_path, "w") as f:
            f.write(config_text)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf_path], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "Address already in use" in self.log() or "cannot listen" in self.log():
                    return False
                raise BrokerError("mosquitto exited with %r during start-up:\n%s"
                                  % (self.proc.returncode, self.log()))
            if all(listening(p) for p in ports):
                return True
            time.sleep(0.05)
        self.stop()
        raise BrokerError("mosquitto did not listen on %s within %.0f s:\n%s"
                          % (ports, START_TIMEOUT_S, self.log()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def shadow_request(port, thing, op, payload=b"", tls=None, client_id=None,
                   connect_timeout=REPLY_TIMEOUT_S):
    """Publishes one shadow request ($aws form, classic shadow) and returns
    (outcome, document) with outcome 'accepted' or 'rejected'. tls: None for
    plain TCP, else a dict with ca, cert, key (cert and key may be None)."""
    base = "$aws/things/%s/shadow/%s" % (thing, op)
    replies = []
    cond = threading.Condition()
    subscribed = threading.Event()
    connected = threading.Event()
    c = mqtt.Client(client_id=client_id or "docker-test-" + uuid.uuid4().hex[:10], clean_session=True)

    def on_connect(client, userdata, flags, rc):
        if rc == 0:
            connected.set()

    def on_message(client, userdata, msg):
        with cond:
            replies.append(msg)
            cond.notify_all()

    c.on_connect = on_connect
    c.on_subscribe = lambda *a: subscribed.set()
    c.on_message = on_message
    if tls is not None:
        c.tls_set(ca_certs=tls["ca"], certfile=tls.get("cert"), keyfile=tls.get("key"),
                  cert_reqs=ssl.CERT_REQUIRED)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    try:
        if not connected.wait(connect_timeout):
            raise AssertionError("no CONNACK from 127.0.0.1:%d" % port)
        c.subscribe([(base + "/accepted", 1), (base + "/rejected", 1)])
        if not subscribed.wait(REPLY_TIMEOUT_S):
            raise AssertionError("no SUBACK from 127.0.0.1:%d" % port)
        c.publish(base, payload, qos=1)
        with cond:
            if not cond.wait_for(lambda: replies, REPLY_TIMEOUT_S):
                raise AssertionError("no reply to %s within %.0f s" % (base, REPLY_TIMEOUT_S))
            msg = replies[0]
        return msg.topic.rsplit("/", 1)[1], json.loads(msg.payload.decode("utf-8"))
    finally:
        c.disconnect()
        c.loop_stop()


# --- the stack's broker configuration ---------------------------------------

def parse_config(text):
    """The configuration as (key, value) pairs, comments and blanks skipped."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        pairs.append((key, value.strip()))
    return pairs


def listener_ports(text):
    """Container ports the configuration listens on: MQTT listeners and the
    plugin's REST API (plugin_opt_http_listen host:port)."""
    ports = []
    for key, value in parse_config(text):
        if key == "listener":
            ports.append(int(value.split()[0]))
        elif key == "plugin_opt_http_listen":
            ports.append(int(value.rsplit(":", 1)[1]))
    return ports


def rewrite_stack_config(text, root, port_map, plugin):
    """The stack configuration made runnable here: /mosquitto/... becomes
    root/..., the image's plugin path becomes `plugin`, every listener and the
    REST API bind 127.0.0.1 on the port port_map gives for the container port.
    Raises ValueError for anything it does not know how to map, so a new
    absolute path or listener in the file cannot slip through unchecked."""
    out = []
    if os.geteuid() == 0:
        # Otherwise mosquitto drops to user 'mosquitto' and cannot use the
        # root-owned temporary directory. The image runs as mosquitto.
        out.append("user root")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            out.append(line)
            continue
        key, _, value = stripped.partition(" ")
        value = value.strip()
        if key == "listener":
            parts = value.split()
            if len(parts) != 1:
                raise ValueError("listener with a bind address is not mapped: %r" % line)
            out.append("listener %d 127.0.0.1" % port_map[int(parts[0])])
            continue
        if key == "plugin_opt_http_listen":
            port = int(value.rsplit(":", 1)[1])
            out.append("plugin_opt_http_listen 127.0.0.1:%d" % port_map[port])
            continue
        if key == "plugin":
            if value != IMAGE_PLUGIN_PATH:
                raise ValueError("plugin path %r is not where the image installs it (%s)"
                                 % (value, IMAGE_PLUGIN_PATH))
            out.append("plugin %s" % plugin)
            continue
        if key == "user":
            raise ValueError("the image runs as mosquitto already; a user line is not expected")
        mapped = re.sub(r"(?<![\w/])/mosquitto/", root.rstrip("/") + "/", stripped)
        for token in mapped.split()[1:]:
            if token.startswith("/") and not token.startswith(root):
                raise ValueError("absolute path outside /mosquitto: %r" % line)
        out.append(mapped)
    return "\n".join(out) + "\n"
