"""docker.e2e (ctest -L docker-e2e): the Docker stack for real.

1. A Docker engine: the running one, or Debian's dockerd started here
   (engine.py; stopped again at the end, with its bridges, iptables rules and
   ip_forward undone). Without one the test prints "skipped: <why>" and exits
   77, which ctest reports as skipped.
2. docker/make-base-image.sh makes debian:bookworm-slim from a Debian mirror
   when the engine lacks it (no Docker Hub here); docker-compose builds the
   image from docker/compose.yml and starts the stack as project
   mosquitto-shadow-e2e on free host ports (SHADOW_*_PORT).
3. Against the stack: the README tour's MQTT steps with their documented
   output, its shadowctl step as docker/README.md writes it for the stack,
   the certificates copied out and used for mutual TLS, shadowctl and boto3
   with the stack's REST key; the CA key is in no running container; the
   health check reports healthy and writes nothing to the broker log.
4. Restart of the broker, then down and up: shadows, versions and keys are
   kept. Finally `down -v` removes containers, volumes and the network.
5. The `cluster` profile as project mosquitto-shadow-e2e-cluster: six Redis
   nodes, three brokers and HAProxy; MQTT and REST through HAProxy, every
   broker sees the same shadow, a broker killed while clients keep going
   through HAProxy, and the cluster kept across down and up.

Every step has a timeout; the whole test prints each step with its time.
The Compose command is `docker-compose` (v1, Debian 12's package): the
documents' `docker compose` commands run with it.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import boto3
import botocore.config

import engine
import stack
import test_docs
from doc_blocks import commands, sh_blocks
from shadowtest import REPO
from shadowtest.broker import free_ports
from shadowtest.mqtt import ConnectRefused, shadow_request

PROJECT = "mosquitto-shadow-e2e"
CLUSTER_PROJECT = "mosquitto-shadow-e2e-cluster"
CLUSTER_BROKERS = ("broker-1", "broker-2", "broker-3")
DOCKER_README = os.path.join(stack.DOCKER_DIR, "README.md")
BASE_TIMEOUT_S = 900      # debootstrap of the base image (~5 min here)
BUILD_TIMEOUT_S = 1500    # the image, cold: ~6 min on 2 cores, more on a slow mirror
UP_TIMEOUT_S = 300
HEALTHY_TIMEOUT_S = 120
STEP_TIMEOUT_S = 120
DOWN_TIMEOUT_S = 180

T0 = time.monotonic()


def say(text):
    print("[%6.1f s] %s" % (time.monotonic() - T0, text), flush=True)


class Stack:
    """docker-compose on docker/compose.yml as project PROJECT."""

    def __init__(self, work):
        self.work = work
        self.ports = dict(zip(("mqtt", "mqtts", "rest"), free_ports(3)))
        self.env = dict(os.environ, SHADOW_MQTT_PORT=str(self.ports["mqtt"]),
                        SHADOW_MQTTS_PORT=str(self.ports["mqtts"]), SHADOW_REST_PORT=str(self.ports["rest"]))
        self.project = PROJECT
        self.prefix = ["docker-compose", "-p", PROJECT, "-f", stack.COMPOSE_FILE]

    def compose(self, *args, timeout=STEP_TIMEOUT_S, check=True, log=None):
        """Runs docker-compose; with `log`, its output goes to that file and
        the lines starting with `Step ` (the build's progress) are shown."""
        argv = self.prefix + list(args)
        if log is None:
            r = subprocess.run(argv, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
            out = r.stdout + r.stderr
        else:
            deadline = time.monotonic() + timeout
            with open(log, "w") as f:
                p = subprocess.Popen(argv, env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=f, stderr=subprocess.STDOUT)
            shown = 0
            while True:
                done = p.poll() is not None
                with open(log, errors="replace") as f:
                    lines = f.read().splitlines()
                for line in lines[shown:len(lines) if done else -1]:
                    if line.startswith("Step "):
                        say("  " + line.strip()[:110])
                    shown += 1
                if done:
                    break
                if time.monotonic() > deadline:
                    p.kill()
                    p.wait()
                    raise AssertionError("docker-compose %s took longer than %d s; the end of its output:\n%s"
                                         % (" ".join(args), timeout, "\n".join(lines[-40:])))
                time.sleep(2)
            out = "\n".join(lines)
            r = subprocess.CompletedProcess(argv, p.returncode, out, "")
        if check and r.returncode != 0:
            raise AssertionError("docker-compose %s exited with %d:\n%s"
                                 % (" ".join(args), r.returncode, out[-4000:]))
        r.output = out
        return r

    def down_leaving_nothing(self):
        """`down -v`, then checks that no container, volume or network of
        the project is left."""
        self.compose("down", "-v", "--remove-orphans", timeout=DOWN_TIMEOUT_S)
        label = "label=com.docker.compose.project=" + self.project
        left = docker("ps", "-aq", "--filter", label)
        left += docker("volume", "ls", "-q", "--filter", label)
        left += docker("network", "ls", "-q", "--filter", label)
        assert not left.strip(), "left after down -v: " + left

    def container(self, service="broker"):
        cid = self.compose("ps", "-q", service).stdout.strip()
        if not cid:
            raise AssertionError("no %s container" % service)
        return cid.splitlines()[0]

    def wait_healthy(self, service="broker"):
        cid = self.container(service)
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        status = ""
        while time.monotonic() < deadline:
            status = docker("inspect", "--format", "{{.State.Health.Status}}", cid).strip()
            if status == "healthy":
                return cid
            time.sleep(2)
        health = docker("inspect", "--format", "{{json .State.Health}}", cid)
        raise AssertionError("%s not healthy within %d s (%s):\n%s\n%s"
                             % (service, HEALTHY_TIMEOUT_S, status, health,
                                self.compose("logs", service).output[-3000:]))

    def documented(self, command):
        """A command of the documents as it runs here: `docker compose -f
        docker/compose.yml` becomes this project's docker-compose, exec
        without a terminal (-T), and the host ports are this stack's."""
        prefix = " ".join(shlex.quote(a) for a in self.prefix)
        command = command.replace("docker compose -f docker/compose.yml", prefix)
        command = command.replace(prefix + " exec ", prefix + " exec -T ")
        command = re.sub(r"(?<=-p )8883\b", str(self.ports["mqtts"]), command)
        return command

    def shell(self, command, timeout=STEP_TIMEOUT_S):
        env = dict(self.env, XDG_CONFIG_HOME=self.xdg,
                   SHADOWCTL_ENDPOINT="http://127.0.0.1:%d" % self.ports["rest"],
                   PATH=os.path.dirname(os.environ["SHADOWCTL"]) + ":" + os.environ["PATH"])
        r = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=self.work, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("%s\nexited with %d:\n%s%s" % (command, r.returncode, r.stdout, r.stderr))
        return r.stdout


def docker(*args, timeout=STEP_TIMEOUT_S):
    r = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def block_with(path, text):
    """The commands of the one shell block of `path` that contains `text`."""
    found = [b for _, lang, b in sh_blocks(path) if lang == "sh" and text in b]
    assert len(found) == 1, (path, text, found)
    return commands(found[0])


def tour_mqtt_steps():
    """[(README line, commands, documented output lines or None)] of the
    README tour up to its first step that is not an MQTT client command."""
    blocks = test_docs.tour_blocks()
    steps = []
    for i, (line, lang, body) in enumerate(blocks):
        if lang != "sh":
            continue
        cmds = commands(body)
        if not all(shlex.split(c)[0] in ("mosquitto_sub", "mosquitto_pub", "mosquitto_rr") for c in cmds):
            break
        documented = None
        if i + 1 < len(blocks) and blocks[i + 1][1] == "":
            documented = [l for l in blocks[i + 1][2].split("\n") if l.strip()]
        steps.append((line, cmds, documented))
    return steps


def tour_shadowctl_output():
    """The documented output of the README tour's shadowctl step."""
    blocks = test_docs.tour_blocks()
    for i, (_, lang, body) in enumerate(blocks):
        if lang == "sh" and any(c.startswith("build/shadowctl") for c in commands(body)):
            return [l for l in blocks[i + 1][2].split("\n") if l.strip()]
    raise AssertionError("the README tour has no shadowctl step")


def credentials(path):
    with open(path) as f:
        return [l.split() for l in f if l.strip() and not l.startswith("#")][0]


class DockerStack(unittest.TestCase):
    """The steps run in the order of their names (unittest sorts them)."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="shadow-e2e-")
        cls.stack = Stack(cls.work)
        cls.stack.xdg = test_docs.mosquitto_client_config(cls.work, cls.stack.ports["mqtt"])
        say("removing what an interrupted run may have left (down -v)")
        cls.stack.compose("down", "-v", "--remove-orphans", timeout=DOWN_TIMEOUT_S)
        cls.volumes_before = set(docker("volume", "ls", "-q").split())
        say("base image: docker/make-base-image.sh")
        r = subprocess.run([os.path.join(stack.DOCKER_DIR, "make-base-image.sh")], capture_output=True,
                           text=True, timeout=BASE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        for line in (r.stdout + r.stderr).splitlines():
            say("  " + line)
        assert r.returncode == 0, "make-base-image.sh failed"
        build_log = os.path.join(cls.work, "build.log")
        say("docker-compose build broker (log: %s)" % build_log)
        started = time.monotonic()
        cls.stack.compose("build", "broker", timeout=BUILD_TIMEOUT_S, log=build_log)
        say("image built in %.0f s" % (time.monotonic() - started))
        say("docker-compose up -d on ports %s" % cls.stack.ports)
        cls.stack.compose("up", "-d", timeout=UP_TIMEOUT_S)
        cls.stack.wait_healthy()
        say("broker healthy")

    @classmethod
    def tearDownClass(cls):
        say("docker-compose down -v")
        try:
            cls.stack.down_leaving_nothing()
            # Anonymous volumes carry no project label: none may be new.
            new = set(docker("volume", "ls", "-q").split()) - cls.volumes_before
            assert not new, "volumes left after down -v: %s" % sorted(new)
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    def test_1_readme_tour_mqtt_steps(self):
        say("README tour, MQTT steps, on 127.0.0.1:%d" % self.stack.ports["mqtt"])
        steps = tour_mqtt_steps()
        self.assertGreaterEqual(len(steps), 8)
        env = dict(os.environ, XDG_CONFIG_HOME=self.stack.xdg)
        watcher = None
        try:
            for line, cmds, documented in steps:
                where = "README.md line %d" % line
                out = []
                for cmd in cmds:
                    argv = shlex.split(cmd)
                    if argv[0] == "mosquitto_sub":
                        watcher = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                        lines = test_docs.Lines(watcher)
                        time.sleep(0.5)  # let it subscribe before the first request
                    else:
                        r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                           text=True, timeout=STEP_TIMEOUT_S)
                        self.assertEqual(r.returncode, 0, "%s: %s\n%s" % (where, cmd, r.stderr))
                        out += r.stdout.splitlines()
                if documented is None:
                    continue
                if argv[0] == "mosquitto_pub":
                    lines.expect(documented, what=where)
                else:
                    self.assertGreaterEqual(len(out), len(documented), "%s: %s" % (where, out))
                    for doc, got in zip(documented, out):
                        self.assertRegex(got, test_docs.line_pattern(doc), where)
            say("  %d steps as documented" % len(steps))

            say("README tour, shadowctl step, as docker/README.md runs it in the broker container")
            out = []
            for cmd in block_with(DOCKER_README, "exec broker shadowctl"):
                out += self.stack.shell(self.stack.documented(cmd)).splitlines()
            documented = tour_shadowctl_output()
            self.assertEqual(len(out), len(documented), out)
            for doc, got in zip(documented, out):
                self.assertRegex(got, test_docs.line_pattern(doc))
            # The subscriber on the host saw the REST update's events.
            lines.expect(['$aws/things/dev1/shadow/update/accepted {"state":{"desired":{"color":"yellow"}}…"version":5…'],
                         what="watcher after the shadowctl update")
        finally:
            if watcher is not None:
                watcher.terminate()
                watcher.wait(timeout=10)

    def test_2_certificates_mutual_tls_and_rest_from_the_host(self):
        say("docker/README.md: certificates copied out, mutual TLS on 127.0.0.1:%d, shadowctl"
            % self.stack.ports["mqtts"])
        self.stack.compose("exec", "-T", "broker", "mosquitto_pub", "-t", "$aws/things/tls1/shadow/update",
                           "-q", "1", "-m", '{"state":{"reported":{"doors":"locked"}}}')
        out = ""
        for cmd in block_with(DOCKER_README, "docker cp"):
            out += self.stack.shell(self.stack.documented(cmd))
        certs = os.path.join(self.work, "stack-certs")
        self.assertNotIn("ca.key", os.listdir(certs))
        # The mutual TLS get of the documented commands printed dev1's shadow.
        self.assertIn('"desired":{"color":"yellow"}', out)
        tls = {"ca": os.path.join(certs, "ca.crt"), "cert": os.path.join(certs, "dev1.crt"),
               "key": os.path.join(certs, "dev1.key")}
        outcome, doc = shadow_request(self.stack.ports["mqtts"], "tls1", "get", tls=tls)
        self.assertEqual((outcome, doc["state"]["reported"]), ("accepted", {"doors": "locked"}))
        with self.assertRaises((OSError, AssertionError, ConnectRefused)):
            shadow_request(self.stack.ports["mqtts"], "tls1", "get", tls={"ca": tls["ca"]},
                                   connect_timeout=3)

    def iot_data(self):
        key, secret = credentials(os.path.join(self.work, "stack-certs", "rest-credentials"))
        return boto3.client("iot-data", endpoint_url="http://127.0.0.1:%d" % self.stack.ports["rest"],
                            region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=10,
                                                          read_timeout=10))

    def test_3_rest_api_with_boto3(self):
        say("REST API with boto3 on 127.0.0.1:%d" % self.stack.ports["rest"])
        client = self.iot_data()
        r = client.update_thing_shadow(thingName="e2e-rest", shadowName="cfg",
                                       payload=json.dumps({"state": {"desired": {"interval": 30}}}))
        self.assertEqual(json.loads(r["payload"].read())["version"], 1)
        doc = json.loads(client.get_thing_shadow(thingName="dev1")["payload"].read())
        self.assertEqual(doc["state"]["desired"], {"color": "yellow"})
        self.assertEqual(doc["version"], 5)
        names = client.list_named_shadows_for_thing(thingName="e2e-rest")["results"]
        self.assertEqual(names, ["cfg"])
        with self.assertRaises(client.exceptions.ResourceNotFoundException):
            client.get_thing_shadow(thingName="e2e-none")

    def test_4_ca_key_in_no_running_container(self):
        say("the CA key: only in the ca volume, in no running container")
        # As root, so that no directory is hidden from the search.
        found = self.stack.compose("exec", "-T", "--user", "root", "broker", "find", "/", "-path", "/proc",
                                   "-prune", "-o", "-path", "/sys", "-prune", "-o", "-name", "ca.key",
                                   "-print").stdout
        self.assertEqual(found.strip(), "")
        ls = docker("run", "--rm", "-v", PROJECT + "_ca:/ca", "--entrypoint", "ls", "mosquitto-shadow:local", "/ca")
        self.assertIn("ca.key", ls.split())

    def test_5_health_check_is_quiet(self):
        say("health check: healthy, and nothing in the broker log")
        cid = self.stack.wait_healthy()

        def checks():
            return json.loads(docker("inspect", "--format", "{{json .State.Health.Log}}", cid))

        def connection_lines():
            return len(re.findall(r"New connection from", self.stack.compose("logs", "broker").output))

        before_lines = connection_lines()
        seen = {c["Start"] for c in checks()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len({c["Start"] for c in checks()} - seen) < 2:
            time.sleep(2)
        new = [c for c in checks() if c["Start"] not in seen]
        self.assertGreaterEqual(len(new), 2, "fewer than two health checks ran in 60 s")
        for c in new:
            self.assertEqual(c["ExitCode"], 0, c["Output"])
            self.assertIn("healthy", c["Output"])
        self.assertEqual(connection_lines(), before_lines)

    def test_9_restart_keeps_shadows_and_keys(self):
        client = self.iot_data()
        before = json.loads(client.get_thing_shadow(thingName="dev1")["payload"].read())
        with open(os.path.join(self.work, "stack-certs", "ca.crt")) as f:
            ca = f.read()

        def unchanged(what):
            self.stack.wait_healthy()
            doc = json.loads(self.iot_data().get_thing_shadow(thingName="dev1")["payload"].read())
            self.assertEqual((doc["state"], doc["version"]), (before["state"], before["version"]), what)
            outcome, doc = shadow_request(self.stack.ports["mqtt"], "dev1", "get")
            self.assertEqual((outcome, doc["version"]), ("accepted", before["version"]), what)
            r = self.stack.compose("exec", "-T", "broker", "cat", "/mosquitto/certs/ca.crt")
            self.assertEqual(r.stdout, ca, what)

        say("docker-compose restart broker")
        self.stack.compose("restart", "broker", timeout=UP_TIMEOUT_S)
        unchanged("after restart")
        say("docker-compose down, then up -d (volumes kept)")
        self.stack.compose("down", timeout=DOWN_TIMEOUT_S)
        self.stack.compose("up", "-d", timeout=UP_TIMEOUT_S)
        unchanged("after down and up")
        # The same REST key still signs (the client above used the old file).
        names = client.list_named_shadows_for_thing(thingName="e2e-rest")["results"]
        self.assertEqual(names, ["cfg"])
        say("shadows, versions, CA and REST key kept")


class ClusterProfile(unittest.TestCase):
    """`docker compose --profile cluster up -d cluster-lb`, as docker/README.md
    shows it. The steps run in the order of their names."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="shadow-e2e-cluster-")
        cls.stack = Stack(cls.work)
        cls.stack.project = CLUSTER_PROJECT
        cls.stack.prefix = ["docker-compose", "-p", CLUSTER_PROJECT, "-f", stack.COMPOSE_FILE, "--profile", "cluster"]
        cls.lb = dict(zip(("mqtt", "mqtts", "rest"), free_ports(3)))
        cls.stack.env.update(SHADOW_CLUSTER_MQTT_PORT=str(cls.lb["mqtt"]), SHADOW_CLUSTER_MQTTS_PORT=str(cls.lb["mqtts"]),
                             SHADOW_CLUSTER_REST_PORT=str(cls.lb["rest"]))
        say("cluster profile: removing what an interrupted run may have left (down -v)")
        cls.stack.compose("down", "-v", "--remove-orphans", timeout=DOWN_TIMEOUT_S)
        r = subprocess.run([os.path.join(stack.DOCKER_DIR, "make-base-image.sh")], capture_output=True,
                           text=True, timeout=BASE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, "make-base-image.sh failed: " + r.stdout + r.stderr
        started = time.monotonic()
        cls.stack.compose("build", "broker-1", "cluster-lb", timeout=BUILD_TIMEOUT_S,
                          log=os.path.join(cls.work, "build.log"))
        say("cluster profile: images built in %.0f s" % (time.monotonic() - started))
        cls.up()

    @classmethod
    def up(cls):
        say("cluster profile: up -d cluster-lb on ports %s" % cls.lb)
        started = time.monotonic()
        cls.stack.compose("up", "-d", "cluster-lb", timeout=UP_TIMEOUT_S)
        cls.wait_serving()
        say("cluster profile: 3 brokers healthy and HAProxy answering in %.0f s" % (time.monotonic() - started))

    @classmethod
    def wait_serving(cls):
        for name in CLUSTER_BROKERS:
            cls.stack.wait_healthy(name)
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % cls.lb["rest"], timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("HAProxy's /healthz not 200 within %d s:\n%s" % (
                    HEALTHY_TIMEOUT_S, cls.stack.compose("logs", "--tail", "40", "cluster-lb").output))
            time.sleep(1)

    @classmethod
    def tearDownClass(cls):
        say("cluster profile: down -v")
        try:
            cls.stack.down_leaving_nothing()
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    def iot_data(self):
        text = self.stack.compose("exec", "-T", "broker-1", "cat", "/mosquitto/certs/rest-credentials").stdout
        key, secret = [l.split() for l in text.splitlines() if l.strip() and not l.startswith("#")][0][:2]
        return boto3.client("iot-data", endpoint_url="http://127.0.0.1:%d" % self.lb["rest"],
                            region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=10,
                                                          read_timeout=10))

    def get_on(self, broker, thing):
        """`get` from inside one broker's container, on that broker alone."""
        out = self.stack.compose("exec", "-T", broker, "mosquitto_rr", "-t", "$aws/things/%s/shadow/get" % thing,
                                 "-e", "$aws/things/%s/shadow/get/accepted" % thing, "-m", "{}", "-W", "10").stdout
        return json.loads(out)

    def test_1_every_broker_serves_what_haproxy_took(self):
        say("cluster profile: MQTT and REST through HAProxy, the same shadow on every broker")
        outcome, doc = shadow_request(self.lb["mqtt"], "c-e2e", "update",
                                      json.dumps({"state": {"reported": {"temp": 21}}}))
        self.assertEqual((outcome, doc["version"]), ("accepted", 1))
        r = self.iot_data().update_thing_shadow(thingName="c-e2e",
                                                payload=json.dumps({"state": {"desired": {"temp": 19}}}))
        self.assertEqual(json.loads(r["payload"].read())["version"], 2)
        for broker in CLUSTER_BROKERS:
            doc = self.get_on(broker, "c-e2e")
            self.assertEqual((doc["version"], doc["state"]["delta"]), (2, {"temp": 19}), broker)

    def test_2_a_broker_killed_haproxy_moves_on(self):
        say("cluster profile: broker-1 killed, clients keep going through HAProxy")
        self.stack.compose("kill", "broker-1")
        deadline = time.monotonic() + 60
        accepted = 0
        while accepted < 5:
            self.assertLess(time.monotonic(), deadline, "no updates through HAProxy after broker-1 was killed")
            try:
                outcome, doc = shadow_request(self.lb["mqtt"], "c-e2e-kill", "update",
                                              json.dumps({"state": {"reported": {"n": accepted}}}),
                                              connect_timeout=5)
                if outcome == "accepted":
                    accepted += 1
            except (OSError, AssertionError, ConnectRefused):
                time.sleep(1)
        self.stack.compose("start", "broker-1")
        self.wait_serving()
        self.assertEqual(self.get_on("broker-1", "c-e2e-kill")["version"], 5)

    def test_3_down_and_up_keep_the_cluster(self):
        say("cluster profile: down, then up -d cluster-lb (volumes kept)")
        self.stack.compose("down", timeout=DOWN_TIMEOUT_S)
        self.up()
        self.assertIn("the cluster exists already", self.stack.compose("logs", "redis-init").output)
        outcome, doc = shadow_request(self.lb["mqtt"], "c-e2e", "get")
        self.assertEqual((outcome, doc["version"]), ("accepted", 2))


def main():
    work = tempfile.mkdtemp(prefix="shadow-e2e-engine-")
    eng = engine.Engine(work)
    reason = eng.start()
    if reason:
        print("skipped: " + reason, flush=True)
        shutil.rmtree(work, ignore_errors=True)
        return 77
    try:
        program = unittest.main(module=__name__, argv=[sys.argv[0], "-v"], exit=False)
        ok = program.result.wasSuccessful()
    finally:
        problems = eng.stop()
        shutil.rmtree(work, ignore_errors=True)
    for p in problems:
        print("engine: " + p, flush=True)
    say("docker.e2e took %.0f s" % (time.monotonic() - T0))
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
