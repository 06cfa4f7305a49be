"""A cluster-mode broker whose Redis Cluster cannot be reached: it starts
anyway, says so once in its log, answers /healthz 503 with the reason and
shadow requests 500, never an accept."""

import json
import time
import unittest
import urllib.error
import urllib.request

from shadowtest.broker import free_ports
from shadowtest.cases import BrokerLogOnFailure
from shadowtest.mqtt import Client, new_token, prefix
from shadowtest.rest import RestBroker


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
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.broker.http_port, timeout=10) as r:
                    status, body = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
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


if __name__ == "__main__":
    unittest.main()
