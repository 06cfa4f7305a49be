"""kill -9 of the broker in the middle of a burst of updates.

Three publisher threads each own two things and send QoS 1 updates with a
small window of requests in flight, recording every update/accepted they
receive. The broker is killed with SIGKILL mid-burst and restarted on the same
data directory. An acknowledged update must never be lost: for every thing
the stored version is >= the highest acknowledged version, and the stored
document is at least as new as the last acknowledged one. Versions never go
backwards."""

import unittest

from shadowtest.broker import Broker
from shadowtest.burst import AckCount, BurstPublisher
from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import prefix

WORKERS = 3
MAX_UPDATES = 20000      # per publisher; far more than are sent before the kill
KILL_AFTER_ACKS = 1500   # total acknowledgements before SIGKILL
BURST_TIMEOUT_S = 30
PAD = "p" * 200          # makes each write a realistic size


class KillDuringBurst(ShadowTestCase):
    options = {}

    def setUp(self):
        self.broker = Broker(options=self.options).start()
        self.addCleanup(self.broker.cleanup)

    def test_acknowledged_updates_survive_kill9(self):
        acks = AckCount()
        publishers = [BurstPublisher(self.broker, i, "crash", acks, max_updates=MAX_UPDATES, pad=PAD)
                      for i in range(WORKERS)]
        for pub in publishers:
            self.addCleanup(pub.client.close)
            pub.start()

        self.assertTrue(acks.wait_for(KILL_AFTER_ACKS, BURST_TIMEOUT_S),
                        "burst too slow: %d acks; broker alive: %s\n%s"
                        % (acks.count, self.broker.alive(), self.broker.log()[-3000:]))
        self.broker.kill9()
        for pub in publishers:
            self.assertTrue(pub.finish(), "publisher %d did not stop" % pub.index)
        # Mid-burst: every publisher still had requests to send.
        for pub in publishers:
            self.assertLess(pub.sent, MAX_UPDATES)

        self.broker.start()
        self.addCleanup(self.broker.report_if_exited)
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
        # Stored at the last acknowledged version: then it is that update.
        self.assertTrue(doc["version"] > last_version or reported["seq"] == last_seq,
                        "version %d was acknowledged with seq %d, stored with seq %d"
                        % (last_version, last_seq, reported["seq"]))
        # Versions never go backwards after the restart.
        acc = self.update_accepted(prefix(thing), {"state": {"reported": {"after": True}}})
        self.assertEqual(acc["version"], doc["version"] + 1)


class KillDuringBurstSyncWrites(KillDuringBurst):
    """The same with every write synced before the reply."""
    options = {"sync_writes": "true"}


if __name__ == "__main__":
    unittest.main()
