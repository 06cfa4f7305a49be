"""Shadow writers under load on a cluster started by scripts/cluster.sh on
free ports (two brokers, a 3 + 3 Redis Cluster), and the checks of the
failure tests (test_broker_failures.py, test_failure_cycles.py): nothing a
client saw acknowledged is lost, and no version is used twice.

Every acknowledged update carries a unique clientToken; a version
acknowledged twice with two different tokens would be a lost write whose
version was reused. Every wait is bounded."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from cluster_case import SCRIPT, ScriptClusterCase
from shadowtest.mqtt import Client, new_token, prefix
SHADOWS = 24
WRITERS_PER_BROKER = 2


class Recorder:
    """What the writers saw acknowledged: (thing, version) -> clientToken."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}
        self.reused = []
        self.outcomes = {}

    def accepted(self, thing, version, token):
        with self.lock:
            other = self.acked.setdefault((thing, version), token)
            if other != token:
                self.reused.append((thing, version, other, token))
            self.outcomes["accepted"] = self.outcomes.get("accepted", 0) + 1

    def count(self, outcome):
        with self.lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def highest(self):
        with self.lock:
            top = {}
            for (thing, version) in self.acked:
                top[thing] = max(top.get(thing, 0), version)
            return top


class ClusterUnderLoad(ScriptClusterCase):
    """A fresh cluster per test; writers, Redis roles and the checks."""
    temp_prefix = "shadow-failover-"
    port_range = (17000, 22400)

    def setUp(self):
        super().setUp()
        self.things = ["fo-%s-%d" % (new_token("t"), i) for i in range(SHADOWS)]
        self.recorder = Recorder()
        self.stop = threading.Event()

    def mqtt_port(self, n):
        return self.base + 10 + n

    def rest_port(self, n):
        return self.base + 20 + n

    def redis_ports(self):
        return [self.base + 100 + i for i in range(6)]

    def kill_redis_node(self, port):
        with open(os.path.join(self.dir, "redis", str(port), "redis.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)

    def start_redis_node(self, port):
        """Starts a killed node again with its old data; it rejoins the cluster."""
        subprocess.run([os.path.join(os.path.dirname(SCRIPT), "redis-cluster.sh"), "start-node", str(port),
                        "--dir", os.path.join(self.dir, "redis")], capture_output=True, timeout=60, check=True)

    def redis_cli(self, port, *args):
        p = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10)
        return p.stdout

    def writer(self, ports, tag, answer_timeout):
        """Updates the shadows round robin until stopped; moves to the next
        port of `ports` when its broker goes away (a request without an
        answer within `answer_timeout` seconds counts as not acknowledged)."""
        i = 0
        port_index = 0
        client = None
        while not self.stop.is_set():
            if client is not None and client.disconnected:  # its broker went away between requests
                self.close_quietly(client)
                client = None
                port_index += 1
            try:
                if client is None:
                    client = Client(ports[port_index % len(ports)], "writer-" + tag)
                    for t in self.things:
                        client.subscribe(prefix(t) + "/update/accepted", prefix(t) + "/update/rejected")
                thing = self.things[i % len(self.things)]
                i += 1
                token = new_token(tag)
                outcome, doc = client.request(prefix(thing), "update", {"state": {"reported": {"w": tag, "i": i}}},
                                              token=token, timeout=answer_timeout)
                if outcome == "accepted":
                    self.recorder.accepted(thing, doc["version"], token)
                else:
                    self.recorder.count("rejected %s" % doc.get("code"))
            except Exception:  # no answer, or the broker went away: not acknowledged
                self.recorder.count("no answer")
                if client is not None:
                    self.close_quietly(client)
                client = None
                port_index += 1
                time.sleep(0.2)
        if client is not None:
            client.close()

    @staticmethod
    def close_quietly(client):
        try:
            client.close()
        except Exception:
            pass

    def start_writers(self, ports_of_writer, answer_timeout=10):
        """answer_timeout: long enough for a Redis failover (requests then
        wait up to plugin_opt_redis_request_timeout_ms, 5 s); a test where
        only brokers die passes a short one, so that a writer whose broker
        died moves on quickly."""
        threads = [threading.Thread(target=self.writer, args=(ports, "w%d" % k, answer_timeout))
                   for k, ports in enumerate(ports_of_writer)]
        for t in threads:
            t.start()
        return threads

    def stop_writers(self, threads):
        self.stop.set()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "writers did not stop within 60 s")

    def wait_accepted(self, more, timeout=30):
        target = self.recorder.outcomes.get("accepted", 0) + more
        deadline = time.monotonic() + timeout
        while self.recorder.outcomes.get("accepted", 0) < target:
            self.assertLess(time.monotonic(), deadline, "updates did not resume: %r" % self.recorder.outcomes)
            time.sleep(0.1)

    def stored_version(self, thing, rest_port):
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/things/%s/shadow" % (rest_port, thing),
                                            timeout=10) as r:
                    return json.loads(r.read())["version"]
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def check_nothing_acked_was_lost(self, rest_port):
        sys.stderr.write("\n%s: outcomes %r, %d versions acknowledged\n"
                         % (self.id(), self.recorder.outcomes, len(self.recorder.acked)))
        self.assertEqual(self.recorder.reused, [], "versions acknowledged twice with different updates")
        highest = self.recorder.highest()
        self.assertEqual(len(highest), SHADOWS, self.recorder.outcomes)
        for thing, top in highest.items():
            self.assertGreaterEqual(self.stored_version(thing, rest_port), top, thing)

    def role(self, port):
        """("master", [replica ports]) or ("slave", master port) or (None, None)."""
        lines = self.redis_cli(port, "ROLE").split()
        if not lines:
            return None, None
        if lines[0] == "master":
            # master, offset, then (ip, port, offset) per replica
            return "master", [int(lines[i]) for i in range(3, len(lines), 3)]
        if lines[0] == "slave" and len(lines) >= 4:
            return ("slave", int(lines[2])) if lines[3] == "connected" else ("slave", None)
        return None, None

    def wait_until(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), deadline, "%s: not within %d s" % (what, timeout))
            time.sleep(0.2)

    def masters(self):
        return sorted(p for p in self.redis_ports() if self.role(p)[0] == "master")

    def replica_of(self, master):
        return next(p for p in self.redis_ports() if self.role(p) == ("slave", master))

    def node_id(self, port):
        return self.redis_cli(port, "CLUSTER", "MYID").strip()

    def slot_of(self, thing):
        # Every key of a thing carries it as its hash tag (docs/scale-out.md).
        return int(self.redis_cli(self.redis_ports()[0], "CLUSTER", "KEYSLOT", thing).strip())

    def slot_owners(self):
        """slot -> port of the master that serves it, from CLUSTER NODES."""
        owners = {}
        for line in self.redis_cli(self.redis_ports()[0], "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if len(fields) < 9 or "master" not in fields[2].split(","):
                continue
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for r in fields[8:]:
                if r.startswith("["):  # a slot being migrated or imported
                    continue
                first, _, last = r.partition("-")
                for slot in range(int(first), int(last or first) + 1):
                    owners[slot] = port
        return owners

    def check_rejections_are_unavailable(self):
        codes = {k for k in self.recorder.outcomes if k.startswith("rejected")}
        self.assertLessEqual(codes, {"rejected 500", "rejected 503"}, self.recorder.outcomes)
