"""kill -9 of the broker in the middle of a burst of updates.

Three publisher threads each own two things and send QoS 1 updates with a
small window of requests in flight, recording every update/accepted they
receive. The broker is killed with SIGKILL mid-burst and restarted on the same
data directory. An acknowledged update must never be lost: for every thing
the stored version is >= the highest acknowledged version, and the stored
document is at least as new as the last acknowledged one. Versions never go
backwards."""

import threading
import time
import unittest

from broker import Broker
from mqtt_client import Client
from shadow_case import ShadowTestCase, prefix, report_unexpected_exit

WORKERS = 3
THINGS_PER_WORKER = 2
WINDOW = 8               # requests in flight per publisher
MAX_UPDATES = 20000      # per publisher; far more than are sent before the kill
KILL_AFTER_ACKS = 1500   # total acknowledgements before SIGKILL
PAD = "p" * 200          # makes each write a realistic size


class Publisher(threading.Thread):
    def __init__(self, broker, index):
        super().__init__(daemon=True)
        self.index = index
        self.things = ["crash-%d-%d" % (index, j) for j in range(THINGS_PER_WORKER)]
        self.acked = {t: [] for t in self.things}   # thing -> [(version, seq)] in arrival order
        self.rejected = []
        self.sent = 0
        self.stop = threading.Event()
        self._window = threading.Semaphore(WINDOW)
        self._lock = threading.Lock()
        self.client = Client(broker, "crash%d" % index, on_message=self._on_message)
        topics = []
        for t in self.things:
            topics += [prefix(t) + "/update/accepted", prefix(t) + "/update/rejected"]
        self.client.subscribe(*topics)

    def _on_message(self, m):
        thing = m.topic.split("/")[2]
        doc = m.json()
        with self._lock:
            if m.topic.endswith("/rejected"):
                self.rejected.append(doc)
            else:
                self.acked[thing].append((doc["version"], doc["state"]["reported"]["seq"]))
        self._window.release()

    def ack_count(self):
        with self._lock:
            return sum(len(v) for v in self.acked.values())

    def run(self):
        for seq in range(MAX_UPDATES):
            # After the kill no more answers come: the bounded wait ends the loop.
            while not self._window.acquire(timeout=0.5):
                if self.stop.is_set() or self.client.disconnected:
                    return
            if self.stop.is_set() or self.client.disconnected:
                return
            # Each thing has one writer, so its seq grows with its version.
            thing = self.things[seq % THINGS_PER_WORKER]
            payload = {"state": {"reported": {"seq": seq, "w": self.index, "pad": PAD}},
                       "clientToken": "w%d-%d" % (self.index, seq)}
            self.client.publish(prefix(thing) + "/update", payload, wait=False)
            self.sent += 1


class KillDuringBurst(ShadowTestCase):
    options = {}

    def setUp(self):
        self.broker = Broker(options=self.options).start()
        self.addCleanup(self.broker.cleanup)

    def test_acknowledged_updates_survive_kill9(self):
        publishers = [Publisher(self.broker, i) for i in range(WORKERS)]
        for pub in publishers:
            self.addCleanup(pub.client.close)
            pub.start()

        deadline = time.monotonic() + 30
        while sum(p.ack_count() for p in publishers) < KILL_AFTER_ACKS:
            self.assertTrue(self.broker.alive(), self.broker.log()[-3000:])
            self.assertLess(time.monotonic(), deadline, "burst too slow: %d acks"
                            % sum(p.ack_count() for p in publishers))
            time.sleep(0.01)
        self.broker.kill9()
        for pub in publishers:
            pub.stop.set()
        for pub in publishers:
            pub.join(timeout=10)
            self.assertFalse(pub.is_alive(), "publisher %d did not stop" % pub.index)
        # Mid-burst: every publisher still had requests to send.
        for pub in publishers:
            self.assertLess(pub.sent, MAX_UPDATES)

        self.broker.start()
        self.addCleanup(report_unexpected_exit, self.broker)
        for pub in publishers:
            self.assertEqual(pub.rejected, [])
            for thing, acked in pub.acked.items():
                with self.subTest(thing=thing):
                    self.check_thing(pub.index, thing, acked)

    def check_thing(self, writer, thing, acked):
        self.assertTrue(acked, "no acknowledged update for %s" % thing)
        versions = [v for v, _ in acked]
        seqs = [s for _, s in acked]
        # One writer, in-order delivery: acknowledged versions are 1, 2, 3, ...
        self.assertEqual(versions, list(range(1, len(versions) + 1)))
        self.assertEqual(seqs, sorted(seqs))
        last_version, last_seq = acked[-1]

        doc = self.get_accepted(prefix(thing))
        self.assertGreaterEqual(doc["version"], last_version)
        reported = doc["state"]["reported"]
        # The stored state is one this writer sent, not older than the last ack.
        self.assertEqual(set(reported), {"seq", "w", "pad"})
        self.assertEqual((reported["w"], reported["pad"]), (writer, PAD))
        self.assertGreaterEqual(reported["seq"], last_seq)
        if doc["version"] == last_version:
            self.assertEqual(reported["seq"], last_seq)
        # Versions never go backwards after the restart.
        acc = self.update_accepted(prefix(thing), {"state": {"reported": {"after": True}}})
        self.assertEqual(acc["version"], doc["version"] + 1)


class KillDuringBurstSyncWrites(KillDuringBurst):
    """The same with every write synced before the reply."""
    options = {"sync_writes": "true"}


if __name__ == "__main__":
    unittest.main()
