"""Paths of the Docker stack and its broker configuration rewritten to run
here: /mosquitto paths moved to a temporary directory and its ports to free
loopback ports.

There is no Docker engine on CI, so the tests/docker checks run what the
image would run (the broker configuration, the plugin, the helper scripts,
the examples) directly on the machine, with the broker launcher and MQTT
client of tests/lib/shadowtest.
"""

import os
import re

from shadowtest import REPO

DOCKER_DIR = os.path.join(REPO, "docker")
STACK_CONFIG = os.path.join(DOCKER_DIR, "config", "mosquitto.conf")
COMPOSE_FILE = os.path.join(DOCKER_DIR, "compose.yml")
DOCKERFILE = os.path.join(DOCKER_DIR, "Dockerfile")
INIT_CERTS = os.path.join(DOCKER_DIR, "init-certs.sh")
HEALTHCHECK = os.path.join(DOCKER_DIR, "healthcheck.sh")

# Where the Dockerfile puts the plugin (cmake --install --prefix /usr/local).
IMAGE_PLUGIN_PATH = "/usr/local/lib/mosquitto-shadow/mosquitto_shadow.so"


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
