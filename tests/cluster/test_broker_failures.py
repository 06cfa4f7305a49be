"""Failures under load with two brokers (scripts/cluster.sh on free ports):
nothing a client saw acknowledged is lost, and no version is used twice.

- A Redis master killed with kill -9 while clients on both brokers update
  shadows spread over every master: its replica takes over, requests on its
  slots get 500 meanwhile (never a wrong accept), and afterwards every
  shadow holds at least the highest version acknowledged for it.
- A broker killed with kill -9 under load: its clients move to the other
  broker, which serves the same shadows with their versions.

Every acknowledged update carries a unique clientToken; a version
acknowledged twice with two different tokens would be a lost write whose
version was reused. Every wait is bounded."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from shadowtest.mqtt import Client, new_token, prefix
from test_cluster_script import BROKERS, PLUGIN, SCRIPT, port_free, ports_of

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


class FailoverTest(unittest.TestCase):
    def run_script(self, *args, timeout=180):
        p = subprocess.run([SCRIPT, *args, "--dir", self.dir], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, "cluster.sh %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def setUp(self):
        self.dir = os.path.join(tempfile.mkdtemp(prefix="shadow-failover-"), "cluster")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.dir), True)
        for _ in range(50):
            self.base = random.randrange(40000, 50000, 200)
            if all(port_free(p) for p in ports_of(self.base)):
                break
        else:
            self.fail("no free port range for cluster.sh")
        self.addCleanup(lambda: subprocess.run([SCRIPT, "stop", "--dir", self.dir], capture_output=True, timeout=120))
        self.run_script("start", "--brokers", str(BROKERS), "--http-auth", "none", "--base-port", str(self.base),
                        "--plugin", PLUGIN)
        self.things = ["fo-%s-%d" % (new_token("t"), i) for i in range(SHADOWS)]
        self.recorder = Recorder()
        self.stop = threading.Event()

    def mqtt_port(self, n):
        return self.base + 10 + n

    def rest_port(self, n):
        return self.base + 20 + n

    def redis_ports(self):
        return [self.base + 100 + i for i in range(6)]

    def redis_cli(self, port, *args):
        p = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10)
        return p.stdout

    def writer(self, ports, tag):
        """Updates the shadows round robin until stopped; moves to the next
        port of `ports` when its broker goes away."""
        i = 0
        port_index = 0
        client = None
        while not self.stop.is_set():
            try:
                if client is None:
                    client = Client(ports[port_index % len(ports)], "writer-" + tag)
                    for t in self.things:
                        client.subscribe(prefix(t) + "/update/accepted", prefix(t) + "/update/rejected")
                thing = self.things[i % len(self.things)]
                i += 1
                token = new_token(tag)
                outcome, doc = client.request(prefix(thing), "update", {"state": {"reported": {"w": tag, "i": i}}},
                                              token=token, timeout=15)
                if outcome == "accepted":
                    self.recorder.accepted(thing, doc["version"], token)
                else:
                    self.recorder.count("rejected %s" % doc.get("code"))
            except Exception:  # no answer, or the broker went away: not acknowledged
                self.recorder.count("no answer")
                if client is not None:
                    try:
                        client.close()
                    except Exception:
                        pass
                client = None
                port_index += 1
                time.sleep(0.2)
        if client is not None:
            client.close()

    def start_writers(self, ports_of_writer):
        threads = [threading.Thread(target=self.writer, args=(ports, "w%d" % k))
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

    def test_redis_master_killed_under_load(self):
        ports = [[self.mqtt_port(1)], [self.mqtt_port(2)]] * WRITERS_PER_BROKER
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(200)
            masters = [p for p in self.redis_ports() if self.redis_cli(p, "ROLE").startswith("master")]
            self.assertEqual(len(masters), 3)
            victim = masters[0]
            with open(os.path.join(self.dir, "redis", str(victim), "redis.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
            # The replica is promoted within seconds; writes to its slots resume
            # once the killed node is back as its replica (min-replicas-to-write 1).
            deadline = time.monotonic() + 30
            while not any(self.redis_cli(p, "ROLE").startswith("master") for p in self.redis_ports()
                          if p not in masters):
                self.assertLess(time.monotonic(), deadline, "no replica was promoted within 30 s")
                time.sleep(0.5)
            subprocess.run([os.path.join(os.path.dirname(SCRIPT), "redis-cluster.sh"), "start-node", str(victim),
                            "--dir", os.path.join(self.dir, "redis")], capture_output=True, timeout=60, check=True)
            self.wait_accepted(300, timeout=60)
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(2))
        self.assertGreater(self.recorder.outcomes.get("accepted", 0), 500, self.recorder.outcomes)

    def test_broker_killed_under_load(self):
        # Writers start on broker 1 and move to broker 2 when it dies.
        ports = [[self.mqtt_port(1), self.mqtt_port(2)]] * (2 * WRITERS_PER_BROKER)
        watcher = Client(self.mqtt_port(2), "watcher")
        self.addCleanup(watcher.close)
        watcher.subscribe(*[prefix(t) + "/update/accepted" for t in self.things])
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(200)
            self.run_script("stop-broker", "1")
            self.wait_accepted(300, timeout=60)
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(2))
        # The watcher on the surviving broker saw every shadow's versions in order.
        seen = {}
        for m in watcher.pending():
            thing = m.topic.split("/")[2]
            seen.setdefault(thing, []).append(m.json()["version"])
        for thing, versions in seen.items():
            self.assertEqual(versions, sorted(versions), thing)
            self.assertEqual(len(versions), len(set(versions)), thing)


if __name__ == "__main__":
    unittest.main()
