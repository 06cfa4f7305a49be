"""Durable mode: kill -9 during a burst of QoS 1 updates. After a restart on
the same data directory every acknowledged version is present (an
acknowledgement is only sent after the fsync covering its write, so this
holds even for the last replies before the kill)."""

import threading
import time
import unittest

from durable_case import durable_broker, report_if_crashed
from mqtt_client import Client, prefix
from shadow_case import ShadowTestCase

WORKERS = 3
THINGS_PER_WORKER = 2
WINDOW = 8
MAX_UPDATES = 20000     # per worker; far more than are sent before the kill
KILL_AFTER_ACKS = 800


class Publisher(threading.Thread):
    def __init__(self, broker, index):
        super().__init__(daemon=True)
        self.index = index
        self.things = ["dcrash-%d-%d" % (index, j) for j in range(THINGS_PER_WORKER)]
        self.acked = {t: [] for t in self.things}   # thing -> [(version, n)] in arrival order
        self.rejected = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._window = threading.Semaphore(WINDOW)
        self.client = Client(broker, "dcrash%d" % index, on_message=self._on_message)
        topics = []
        for t in self.things:
            topics += [prefix(t) + "/update/accepted", prefix(t) + "/update/rejected"]
        self.client.subscribe(*topics)

    def _on_message(self, m):
        doc = m.json()
        with self._lock:
            if m.topic.endswith("/rejected"):
                self.rejected.append(doc)
            else:
                self.acked[m.topic.split("/")[2]].append(
                    (doc["version"], doc["state"]["reported"]["n"]))
        self._window.release()

    def ack_count(self):
        with self._lock:
            return sum(len(v) for v in self.acked.values())

    def run(self):
        for n in range(MAX_UPDATES):
            while not self._window.acquire(timeout=0.5):
                if self.stop.is_set() or self.client.disconnected:
                    return
            if self.stop.is_set() or self.client.disconnected:
                return
            thing = self.things[n % THINGS_PER_WORKER]
            payload = {"state": {"reported": {"n": n, "w": self.index}},
                       "clientToken": "w%d-%d" % (self.index, n)}
            self.client.publish(prefix(thing) + "/update", payload, wait=False)


class DurableKill9(ShadowTestCase):
    def setUp(self):
        self.broker = durable_broker()
        self.addCleanup(self.broker.cleanup)
        self.broker.start()

    def test_acknowledged_versions_survive_kill9(self):
        pubs = [Publisher(self.broker, i) for i in range(WORKERS)]
        for p in pubs:
            self.addCleanup(p.client.close)
            p.start()
        deadline = time.monotonic() + 60
        while sum(p.ack_count() for p in pubs) < KILL_AFTER_ACKS:
            self.assertTrue(self.broker.alive(), self.broker.log()[-3000:])
            self.assertLess(time.monotonic(), deadline, "burst too slow")
            time.sleep(0.01)
        self.broker.kill9()
        for p in pubs:
            p.stop.set()
        for p in pubs:
            p.join(timeout=10)
            self.assertFalse(p.is_alive())

        self.broker.start()
        self.addCleanup(report_if_crashed, self.broker)
        for p in pubs:
            self.assertEqual(p.rejected, [])
            for thing, acked in p.acked.items():
                with self.subTest(thing=thing):
                    self.assertTrue(acked)
                    versions = [v for v, _ in acked]
                    self.assertEqual(versions, list(range(1, len(versions) + 1)))
                    last_version, last_n = acked[-1]
                    doc = self.get_accepted(prefix(thing))
                    self.assertGreaterEqual(doc["version"], last_version)
                    self.assertEqual(doc["state"]["reported"]["w"], p.index)
                    self.assertGreaterEqual(doc["state"]["reported"]["n"], last_n)
                    if doc["version"] == last_version:
                        self.assertEqual(doc["state"]["reported"]["n"], last_n)


if __name__ == "__main__":
    unittest.main()
