"""Durable mode: kill -9 during a burst of QoS 1 updates. After a restart on
the same data directory every acknowledged version is present (an
acknowledgement is only sent after the fsync covering its write, so this
holds even for the last replies before the kill)."""

import unittest

from shadowtest.burst import AckCount, BurstPublisher
from shadowtest.cases import ShadowTestCase
from shadowtest.durable import EXPECTED_EXITS, durable_broker
from shadowtest.mqtt import prefix

WORKERS = 3
MAX_UPDATES = 20000     # per worker; far more than are sent before the kill
KILL_AFTER_ACKS = 800
BURST_TIMEOUT_S = 60


class DurableKill9(ShadowTestCase):
    def setUp(self):
        self.broker = durable_broker()
        self.addCleanup(self.broker.cleanup)
        self.broker.start()

    def test_acknowledged_versions_survive_kill9(self):
        acks = AckCount()
        pubs = [BurstPublisher(self.broker, i, "dcrash", acks, max_updates=MAX_UPDATES)
                for i in range(WORKERS)]
        for p in pubs:
            self.addCleanup(p.client.close)
            p.start()
        self.assertTrue(acks.wait_for(KILL_AFTER_ACKS, BURST_TIMEOUT_S),
                        "burst too slow: %d acks; broker alive: %s\n%s"
                        % (acks.count, self.broker.alive(), self.broker.log()[-3000:]))
        self.broker.kill9()
        for p in pubs:
            self.assertTrue(p.finish(), "publisher %d did not stop" % p.index)

        self.broker.start()
        self.addCleanup(self.broker.report_if_exited, EXPECTED_EXITS)
        for p in pubs:
            self.assertEqual(p.rejected, [])
            for thing, acked in p.acked.items():
                with self.subTest(thing=thing):
                    self.assertTrue(acked)
                    versions = [v for v, _ in acked]
                    self.assertEqual(versions, list(range(1, len(versions) + 1)))
                    last_version, last_seq = acked[-1]
                    doc = self.get_accepted(prefix(thing))
                    self.assertGreaterEqual(doc["version"], last_version)
                    self.assertEqual(doc["state"]["reported"]["w"], p.index)
                    seq = doc["state"]["reported"]["seq"]
                    self.assertGreaterEqual(seq, last_seq)
                    # Stored at the last acknowledged version: then it is that update.
                    self.assertTrue(doc["version"] > last_version or seq == last_seq,
                                    "version %d was acknowledged with seq %d, stored with seq %d"
                                    % (last_version, last_seq, seq))


if __name__ == "__main__":
    unittest.main()
