"""docker/compose.yml without a Docker engine: it parses, uses only known
Compose keys, every file and directory it names exists, its services depend on
each other as documented, and its ports, commands and certificate names agree
with the broker configuration, the Dockerfile and the examples."""

import os
import re
import unittest

import yaml

import stack
from shadowtest import REPO

# Compose Specification keys this file may use; a typo (e.g. `depend_on`)
# would be ignored or rejected by `docker compose`, so it fails here. No
# `name`: docker-compose 1.29 (Compose v1, Debian 12) rejects it.
TOP_LEVEL_KEYS = {"services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "volumes", "ports", "depends_on",
    "healthcheck", "restart", "profiles", "network_mode", "user", "working_dir", "init",
    "stop_signal", "stop_grace_period", "logging", "labels", "expose", "networks",
}
BUILD_KEYS = {"context", "dockerfile", "args", "target"}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval"}
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

REDIS_NODES = ["redis-%d" % i for i in range(1, 7)]
CLUSTER_BROKERS = ["broker-%d" % i for i in range(1, 4)]
CLUSTER_SERVICES = REDIS_NODES + ["redis-init"] + CLUSTER_BROKERS + ["cluster-lb"]
CLUSTER_DIR = os.path.join(stack.DOCKER_DIR, "cluster")


def load():
    with open(stack.COMPOSE_FILE) as f:
        return yaml.safe_load(f)


def expand(text, env=None):
    """${VAR:-default} substituted as Compose does (from env, else the
    default); a bare ${VAR} or $VAR without a value raises KeyError."""
    env = env or {}

    def one(m):
        name, default = m.group(1) or m.group(3), m.group(2)
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(name)
        return default
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", one, text)


def dotenv():
    """docker/.env as a dict."""
    values = {}
    with open(os.path.join(stack.DOCKER_DIR, ".env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                values[key] = value
    return values


def compose_path(relative):
    return os.path.normpath(os.path.join(stack.DOCKER_DIR, relative))


def dockerfile_copy_destinations(path):
    """Destinations of the COPY instructions of a Dockerfile."""
    dests = set()
    with open(path) as f:
        for line in f:
            words = line.split()
            if words and words[0] == "COPY":
                dests.add(words[-1])
    return dests


class ComposeFile(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.doc = load()
        cls.services = cls.doc["services"]

    def test_only_known_keys(self):
        for key in self.doc:
            self.assertTrue(key in TOP_LEVEL_KEYS or key.startswith("x-"), key)
        for name, svc in self.services.items():
            self.assertLessEqual(set(svc), SERVICE_KEYS, name)
            if "build" in svc:
                self.assertLessEqual(set(svc["build"]), BUILD_KEYS, name)
            if "healthcheck" in svc:
                self.assertLessEqual(set(svc["healthcheck"]), HEALTHCHECK_KEYS, name)

    def test_the_documented_services_exist(self):
        self.assertEqual(set(self.services), {"certs", "broker", "device", "application"} | set(CLUSTER_SERVICES))
        for name in ("certs", "broker"):
            self.assertNotIn("profiles", self.services[name], name)
        for name in ("device", "application"):
            self.assertEqual(self.services[name].get("profiles"), ["examples"], name)
        for name in CLUSTER_SERVICES:
            self.assertEqual(self.services[name].get("profiles"), ["cluster"], name)

    def test_build_contexts_and_dockerfiles_exist(self):
        builds = {}
        for name, svc in self.services.items():
            if "build" not in svc:
                # An image nobody builds would be pulled, and these tags are local.
                self.assertNotIn(":local", svc["image"], name)
                continue
            context = compose_path(svc["build"]["context"])
            self.assertTrue(os.path.isdir(context), "%s: context %s" % (name, context))
            dockerfile = os.path.join(context, svc["build"].get("dockerfile", "Dockerfile"))
            self.assertTrue(os.path.isfile(dockerfile), "%s: dockerfile %s" % (name, dockerfile))
            # Services sharing an image tag must build it the same way.
            previous = builds.setdefault(svc["image"], svc["build"])
            self.assertEqual(previous, svc["build"], "%s builds %s differently" % (name, svc["image"]))
        self.assertEqual(os.path.realpath(compose_path(self.services["broker"]["build"]["context"])),
                         REPO)

    def test_volumes_are_declared_or_exist(self):
        declared = set(self.doc.get("volumes") or {})
        used = set()
        for name, svc in self.services.items():
            for spec in svc.get("volumes", []):
                source, target = spec.split(":")[:2]
                self.assertTrue(target.startswith("/"), spec)
                if source.startswith((".", "/")):
                    self.assertTrue(os.path.exists(compose_path(source)), "%s: %s" % (name, source))
                else:
                    self.assertIn(source, declared, "%s: undeclared volume %s" % (name, source))
                    used.add(source)
        self.assertEqual(used, declared, "declared volumes nobody mounts")
        broker_mounts = {}
        for spec in self.services["broker"]["volumes"]:
            source, target = spec.split(":")[:2]
            broker_mounts[target] = source
        self.assertEqual(broker_mounts.get("/mosquitto/data"), "data")
        self.assertEqual(broker_mounts.get("/mosquitto/certs"), "certs")

    def test_the_ca_key_volume_is_mounted_by_the_certs_service_only(self):
        for name, svc in self.services.items():
            sources = [spec.split(":")[0] for spec in svc.get("volumes", [])]
            if name == "certs":
                self.assertIn("ca:/mosquitto/ca", svc["volumes"])
                self.assertIn("certs:/mosquitto/certs", svc["volumes"])
            else:
                self.assertNotIn("ca", sources, "%s mounts the CA key volume" % name)

    def test_project_name_for_compose_v1_and_v2(self):
        # v1 has no top-level `name:`; both read COMPOSE_PROJECT_NAME from
        # the .env file next to compose.yml.
        self.assertNotIn("name", self.doc)
        self.assertEqual(dotenv().get("COMPOSE_PROJECT_NAME"), "mosquitto-shadow")

    def test_the_config_directory_holds_the_broker_config(self):
        mounts = [v.split(":") for v in self.services["broker"]["volumes"]]
        config_dir = [m[0] for m in mounts if m[1] == "/mosquitto/config"]
        self.assertEqual(len(config_dir), 1)
        self.assertEqual(os.path.join(compose_path(config_dir[0]), "mosquitto.conf"), stack.STACK_CONFIG)
        # The image carries the same file, for `docker run` without compose.
        self.assertIn("/mosquitto/config/mosquitto.conf", dockerfile_copy_destinations(stack.DOCKERFILE))

    def test_dependencies(self):
        for name, svc in self.services.items():
            for dep, spec in (svc.get("depends_on") or {}).items():
                self.assertIn(dep, self.services, name)
                self.assertIn(spec["condition"], DEPENDS_CONDITIONS, name)
            mode = svc.get("network_mode")
            if mode and mode.startswith("service:"):
                self.assertIn(mode.split(":", 1)[1], self.services, name)
        self.assertEqual(self.services["broker"]["depends_on"]["certs"]["condition"],
                         "service_completed_successfully")
        for name in ("device", "application"):
            self.assertEqual(self.services[name]["depends_on"]["broker"]["condition"], "service_healthy")

    def test_ports_match_the_broker_config(self):
        with open(stack.STACK_CONFIG) as f:
            listening = sorted(stack.listener_ports(f.read()))
        published = {}
        for spec in self.services["broker"]["ports"]:
            parts = expand(spec).split(":")
            host_ip = parts[0] if len(parts) == 3 else None
            published[int(parts[-1])] = host_ip
        self.assertEqual(sorted(published), listening)
        # Anonymous plain MQTT and the REST API stay on the host's loopback.
        self.assertEqual(published[1883], "127.0.0.1")
        self.assertEqual(published[8080], "127.0.0.1")

    def test_host_ports_are_set_by_variables(self):
        # The defaults are the container ports; SHADOW_*_PORT move them
        # (docker.e2e runs the stack on free ports that way).
        env = {"SHADOW_MQTT_PORT": "11883", "SHADOW_MQTTS_PORT": "18883", "SHADOW_REST_PORT": "18080"}
        host = {}
        for spec in self.services["broker"]["ports"]:
            default, moved = expand(spec).split(":"), expand(spec, env).split(":")
            self.assertEqual(default[-2], default[-1], spec)
            host[int(moved[-1])] = int(moved[-2])
        self.assertEqual(host, {1883: 11883, 8883: 18883, 8080: 18080})

    def test_commands_in_the_image_exist(self):
        copied = dockerfile_copy_destinations(stack.DOCKERFILE)
        for name in ("certs", "broker"):
            svc = self.services[name]
            paths = list(svc.get("command") or []) + list(svc.get("healthcheck", {}).get("test", []))
            for p in paths:
                if p.startswith("/usr/local/bin/"):
                    self.assertIn(p, copied, "%s runs %s, which the Dockerfile does not COPY" % (name, p))
        self.assertEqual(self.services["broker"]["healthcheck"]["test"][0], "CMD")

    def test_examples_use_existing_scripts_and_issued_certificates(self):
        devices = self.services["certs"]["environment"]["SHADOW_DEVICES"].split()
        for name in ("device", "application"):
            svc = self.services[name]
            context = compose_path(svc["build"]["context"])
            command = svc["command"]
            self.assertTrue(os.path.isfile(os.path.join(context, command[0])), command[0])
            args = dict(zip(command[1::2], command[2::2]))
            for option in ("--cert", "--key"):
                m = re.fullmatch(r"/certs/(.+)\.(crt|key)", args[option])
                self.assertIsNotNone(m, args[option])
                self.assertIn(m.group(1), devices, "%s uses a certificate nobody issues" % name)
            self.assertEqual(args["--ca_file"], "/certs/ca.crt")
            # localhost is in the broker certificate (scripts/gen-certs.sh).
            self.assertEqual(args["--endpoint"], "localhost")
            self.assertEqual(args["--port"], "8883")
            self.assertEqual(svc["network_mode"], "service:broker")



class ClusterProfile(unittest.TestCase):
    """The `cluster` profile: six Redis nodes on fixed addresses, the
    one-shot cluster set-up, three brokers on the Redis Cluster and HAProxy,
    all consistent with the files in docker/cluster."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load()
        cls.services = cls.doc["services"]
        with open(os.path.join(CLUSTER_DIR, "mosquitto.conf")) as f:
            cls.broker_config = f.read()
        with open(os.path.join(CLUSTER_DIR, "haproxy.cfg")) as f:
            cls.haproxy = f.read()

    def test_the_cluster_image_carries_what_the_services_run(self):
        copied = dockerfile_copy_destinations(os.path.join(CLUSTER_DIR, "Dockerfile"))
        with open(os.path.join(CLUSTER_DIR, "Dockerfile")) as f:
            for line in f:
                words = line.split()
                if words and words[0] == "COPY":
                    self.assertTrue(os.path.isfile(os.path.join(CLUSTER_DIR, words[1])), line)
        for name in REDIS_NODES + ["redis-init", "cluster-lb"]:
            for word in self.services[name]["command"]:
                if word.startswith(("/usr/local/bin/", "/etc/shadow-cluster/")):
                    self.assertIn(word, copied, "%s runs %s, which the cluster image lacks" % (name, word))

    def test_redis_nodes_have_distinct_fixed_addresses_in_the_subnet(self):
        subnet = expand(self.doc["networks"]["cluster"]["ipam"]["config"][0]["subnet"])
        self.assertTrue(subnet.endswith(".0/24"), subnet)
        addresses = [expand(self.services[n]["networks"]["cluster"]["ipv4_address"]) for n in REDIS_NODES]
        self.assertEqual(len(set(addresses)), 6, addresses)
        for a in addresses:
            self.assertEqual(a.rsplit(".", 1)[0], subnet.rsplit(".", 1)[0], a)
        for name in REDIS_NODES:
            self.assertIn("redis-%s:/data" % name.split("-")[1], self.services[name]["volumes"])

    def test_brokers_use_the_cluster_config_and_wait_for_the_cluster(self):
        options = {}
        for line in self.broker_config.splitlines():
            words = line.split(None, 1)
            if words and words[0].startswith("plugin_opt_"):
                options[words[0]] = words[1]
        self.assertEqual(options["plugin_opt_store"], "redis-cluster")
        self.assertNotIn("plugin_opt_db_path", options)  # refused in cluster mode
        seeds = [n.rsplit(":", 1)[0] for n in options["plugin_opt_redis_nodes"].split(",")]
        self.assertEqual(seeds, REDIS_NODES)
        self.assertEqual(sorted(stack.listener_ports(self.broker_config)), [1883, 8080, 8883])
        for name in CLUSTER_BROKERS:
            svc = self.services[name]
            self.assertIn("./cluster/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro", svc["volumes"])
            self.assertEqual(svc["depends_on"]["redis-init"]["condition"], "service_completed_successfully")
            self.assertEqual(svc["depends_on"]["certs"]["condition"], "service_completed_successfully")
            self.assertNotIn("ports", svc, "%s: clients reach the brokers through cluster-lb" % name)

    def test_haproxy_balances_every_broker_on_every_listener(self):
        binds = sorted(int(m) for m in re.findall(r"(?m)^\s+bind :(\d+)$", self.haproxy))
        self.assertEqual(binds, sorted(stack.listener_ports(self.broker_config)))
        servers = re.findall(r"(?m)^\s+server (\S+) (\S+):(\d+) ", self.haproxy)
        for port in binds:
            self.assertEqual(sorted(name for name, host, p in servers if int(p) == port), CLUSTER_BROKERS, port)
        for name, host, _ in servers:
            self.assertEqual(name, host)
        published = {}
        for spec in self.services["cluster-lb"]["ports"]:
            parts = expand(spec).split(":")
            published[int(parts[-1])] = parts[0] if len(parts) == 3 else None
        self.assertEqual(sorted(published), binds)
        self.assertEqual(published[1883], "127.0.0.1")
        self.assertEqual(published[8080], "127.0.0.1")
        moved = {expand(spec, {"SHADOW_CLUSTER_MQTT_PORT": "1", "SHADOW_CLUSTER_MQTTS_PORT": "2",
                               "SHADOW_CLUSTER_REST_PORT": "3"}).split(":")[-2] for spec in
                 self.services["cluster-lb"]["ports"]}
        self.assertEqual(moved, {"1", "2", "3"})


if __name__ == "__main__":
    unittest.main()
