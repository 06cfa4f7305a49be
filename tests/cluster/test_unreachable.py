"""A cluster-mode broker whose Redis Cluster cannot be reached: it starts
anyway, says so once in its log, answers /healthz 503 with the reason and
shadow requests 500, never an accept; once the cluster is up, it recovers
by itself."""

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from cluster_case import port_free
from shadowtest.broker import free_ports
from shadowtest.cases import BrokerLogOnFailure
from shadowtest.mqtt import Client, new_token, prefix
from shadowtest.rest import RestBroker

REDIS_SCRIPT = os.environ.get("SHADOW_REDIS_SCRIPT") or os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "redis-cluster.sh")


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class UnreachableRedisTest(BrokerLogOnFailure, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dead = free_ports(1)[0]  # nothing listens there
        cls.broker = RestBroker(auth="none", with_db_path=False, options={
            "store": "redis-cluster", "redis_nodes": "127.0.0.1:%d" % dead, "acl_fallback": "allow",
            "redis_request_timeout_ms": "1000", "redis_connect_timeout_ms": "200"})
        cls.broker.cluster = False  # one broker, configured here
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def test_healthz_is_503_with_the_reason(self):
        deadline = time.monotonic() + 20
        while True:
            status, body = healthz(self.broker.http_port)
            if status == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(status, 503, body)
        doc = json.loads(body)
        self.assertEqual(doc["status"], "unavailable")
        self.assertTrue(doc["reason"], doc)
        self.assertTrue(self.broker.wait_for_log("the Redis Cluster cannot serve every request"))

    def test_requests_are_answered_500(self):
        p = prefix("unreachable-" + new_token("t"))
        c = Client(self.broker.port, "dev")
        self.addCleanup(c.close)
        c.subscribe(p + "/update/accepted", p + "/update/rejected")
        outcome, doc = c.request(p, "update", {"state": {"reported": {"x": 1}}}, token=new_token(), timeout=30)
        self.assertEqual(outcome, "rejected", doc)
        self.assertEqual(doc["code"], 500, doc)
        self.assertTrue(self.broker.alive())


class RecoveryTest(BrokerLogOnFailure, unittest.TestCase):
    """The broker starts before its Redis Cluster; once the cluster runs, the
    broker serves requests without a restart."""

    def setUp(self):
        for _ in range(50):
            # Below the ephemeral ports, bus ports (+10000) included.
            self.base = random.randrange(22500, 22750, 10)
            if all(port_free(self.base + i) and port_free(self.base + 10000 + i) for i in range(6)):
                break
        else:
            self.fail("no free ports for a Redis Cluster")
        self.redis_dir = tempfile.mkdtemp(prefix="shadow-recovery-redis-")
        self.addCleanup(shutil.rmtree, self.redis_dir, True)
        nodes = ",".join("127.0.0.1:%d" % (self.base + i) for i in range(3))
        self.broker = RestBroker(auth="none", with_db_path=False, options={
            "store": "redis-cluster", "redis_nodes": nodes, "acl_fallback": "allow",
            "redis_request_timeout_ms": "1000", "redis_connect_timeout_ms": "200"})
        self.broker.cluster = False
        self.addCleanup(self.broker.cleanup)
        self.broker.start()

    def test_recovers_when_the_cluster_comes_up(self):
        self.assertEqual(healthz(self.broker.http_port)[0], 503)
        self.addCleanup(lambda: subprocess.run([REDIS_SCRIPT, "stop", "--dir", self.redis_dir + "/c"],
                                               capture_output=True, timeout=60))
        subprocess.run([REDIS_SCRIPT, "start", "--dir", self.redis_dir + "/c", "--base-port", str(self.base)],
                       capture_output=True, timeout=120, check=True)
        deadline = time.monotonic() + 30
        while healthz(self.broker.http_port)[0] != 200:
            self.assertLess(time.monotonic(), deadline, "/healthz not ok 30 s after the cluster started")
            time.sleep(0.5)
        self.assertTrue(self.broker.wait_for_log("the Redis Cluster is healthy again"))
        p = prefix("recovered-" + new_token("t"))
        c = Client(self.broker.port, "dev")
        self.addCleanup(c.close)
        c.subscribe(p + "/update/accepted", p + "/update/rejected")
        outcome, doc = c.request(p, "update", {"state": {"reported": {"x": 1}}}, token=new_token())
        self.assertEqual((outcome, doc.get("version")), ("accepted", 1), doc)


if __name__ == "__main__":
    unittest.main()
