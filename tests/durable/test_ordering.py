"""Durable mode (plugin_opt_sync_writes true) under a burst of QoS 1 updates
from several clients on several things: every update is accepted, versions
per thing grow in arrival order, delta and documents events follow their
/accepted, a get issued right after an update reads it, and the trace shows
that no acknowledgement left before the fsync covering its write, and that
fsyncs were shared by many writes (group commit)."""

import threading
import time
import unittest

from shadowtest.cases import ShadowTestCase
from shadowtest.durable import EXPECTED_EXITS, Trace, assert_no_ack_before_its_sync, durable_broker
from shadowtest.mqtt import Client, prefix

CLIENTS = 4
THINGS_PER_CLIENT = 2
UPDATES_PER_CLIENT = 250
WINDOW = 8               # requests in flight per client
BURST_TIMEOUT_S = 120


class Updater(threading.Thread):
    """One client owning THINGS_PER_CLIENT things; keeps WINDOW updates in
    flight and records every reply and event in arrival order."""

    def __init__(self, broker, index):
        super().__init__(daemon=True)
        self.index = index
        self.things = ["dur-%d-%d" % (index, j) for j in range(THINGS_PER_CLIENT)]
        self.arrivals = []   # (topic, document) in arrival order
        self.replies = 0
        self.accepted = 0
        self.sent = []       # (thing, token) in send order
        self._cond = threading.Condition()
        self._window = threading.Semaphore(WINDOW)
        self.client = Client(broker.port, "dur%d" % index, on_message=self._on_message)
        topics = []
        for t in self.things:
            for suffix in ("accepted", "rejected", "delta", "documents"):
                topics.append(prefix(t) + "/update/" + suffix)
        self.client.subscribe(*topics)

    def _on_message(self, m):
        with self._cond:
            self.arrivals.append((m.topic, m.json()))
            if m.topic.endswith("/accepted") or m.topic.endswith("/rejected"):
                self.replies += 1
                self.accepted += m.topic.endswith("/accepted")
                self._window.release()
            self._cond.notify_all()

    def run(self):
        for n in range(UPDATES_PER_CLIENT):
            if not self._window.acquire(timeout=30):
                return  # the test reports the missing replies
            thing = self.things[n % THINGS_PER_CLIENT]
            token = "c%d-%d" % (self.index, n)
            payload = {"state": {"desired": {"n": n, "pad": "x" * 100}}, "clientToken": token}
            self.sent.append((thing, token))
            self.client.publish(prefix(thing) + "/update", payload, wait=False)

    def wait_until(self, predicate, deadline):
        """Waits until predicate() holds (called under the lock); returns
        whether it did before `deadline` (time.monotonic())."""
        with self._cond:
            return self._cond.wait_for(predicate, max(0, deadline - time.monotonic()))

    def all_answered(self):
        return self.replies == UPDATES_PER_CLIENT

    def all_events_arrived(self):
        # Every accepted update (all of them: the desired state never has
        # a reported side) is followed by its delta and documents events.
        return len(self.arrivals) >= self.replies + 2 * self.accepted


class DurableOrdering(ShadowTestCase):
    def setUp(self):
        self.broker = durable_broker()
        self.addCleanup(self.broker.cleanup)
        self.broker.start()
        self.addCleanup(self.broker.report_if_exited, EXPECTED_EXITS)

    def test_burst_keeps_order_and_acks_follow_their_sync(self):
        updaters = [Updater(self.broker, i) for i in range(CLIENTS)]
        for u in updaters:
            self.addCleanup(u.client.close)
        for u in updaters:
            u.start()
        deadline = time.monotonic() + BURST_TIMEOUT_S
        for u in updaters:
            u.join(timeout=max(0, deadline - time.monotonic()))
            self.assertFalse(u.is_alive(), "client %d did not finish sending" % u.index)
        for u in updaters:
            self.assertTrue(u.wait_until(u.all_answered, deadline), "client %d: %d of %d replies; broker %s"
                            % (u.index, u.replies, UPDATES_PER_CLIENT,
                               "alive" if self.broker.alive() else "exited"))
            # The events of the last updates follow their replies.
            self.assertTrue(u.wait_until(u.all_events_arrived, deadline),
                            "client %d: %d messages for %d replies, %d accepted"
                            % (u.index, len(u.arrivals), u.replies, u.accepted))

        accepted_total = 0
        for u in updaters:
            with u._cond:
                arrivals = list(u.arrivals)
            for thing in u.things:
                with self.subTest(thing=thing):
                    accepted_total += self.check_thing(u, thing, arrivals)

        self.broker.stop()
        trace = Trace(self.broker.trace_path)
        assert_no_ack_before_its_sync(self, trace)
        update_acks = [a for a in trace.acks_on("/update/accepted") if "/dur-" in a[2]]
        self.assertEqual(len(update_acks), accepted_total)
        # Only the broker thread writes here, and each update's tag includes
        # its own write: the tags of successive updates strictly grow.
        tags = [a[0] for a in update_acks]
        self.assertEqual(tags, sorted(set(tags)))
        # Group commit: fsyncs were shared. (Printed, not asserted: the batch
        # size depends on scheduling.)
        print("\n%d update acks, %d fsyncs" % (len(update_acks), len(trace.syncs)))

    def check_thing(self, u, thing, arrivals):
        p = prefix(thing)
        mine = [(i, t, d) for i, (t, d) in enumerate(arrivals) if t.startswith(p + "/")]
        rejected = [d for _, t, d in mine if t.endswith("/rejected")]
        self.assertEqual(rejected, [])
        accepted = [(i, d) for i, t, d in mine if t.endswith("/update/accepted")]
        tokens_sent = [tok for th, tok in u.sent if th == thing]
        # Every update answered, in send order, with versions 1, 2, 3, ...
        self.assertEqual([d["clientToken"] for _, d in accepted], tokens_sent)
        versions = [d["version"] for _, d in accepted]
        self.assertEqual(versions, list(range(1, len(tokens_sent) + 1)))
        accepted_at = {d["version"]: i for i, d in accepted}
        # Events: each follows its own /accepted, and they keep version order.
        documents = [(i, d) for i, t, d in mine if t.endswith("/update/documents")]
        self.assertEqual([d["current"]["version"] for _, d in documents], versions)
        for i, d in documents:
            self.assertGreater(i, accepted_at[d["current"]["version"]])
        deltas = [(i, d) for i, t, d in mine if t.endswith("/update/delta")]
        self.assertEqual([d["version"] for _, d in deltas], versions)
        for i, d in deltas:
            self.assertGreater(i, accepted_at[d["version"]])
        return len(accepted)

    def test_get_right_after_update_reads_it(self):
        p = prefix("dur-get")
        c = self.client("getter", p + "/update/accepted", p + "/get/accepted",
                        p + "/update/rejected", p + "/get/rejected")
        for k in range(20):
            # No wait between the two: the get is handled right after the
            # update, while the update's fsync may still be running.
            c.publish(p + "/update", {"state": {"reported": {"k": k}}, "clientToken": "u%d" % k},
                      wait=False)
            c.publish(p + "/get", {"clientToken": "g%d" % k}, wait=False)
            upd = c.take_one(p + "/update/accepted").json()
            got = c.take_one(p + "/get/accepted").json()
            self.assertEqual((upd["clientToken"], got["clientToken"]), ("u%d" % k, "g%d" % k))
            self.assertEqual(got["version"], upd["version"])
            self.assertEqual(got["state"]["reported"]["k"], k)
        self.assertEqual(c.pending(), [])

        self.broker.stop()
        trace = Trace(self.broker.trace_path)
        assert_no_ack_before_its_sync(self, trace)
        updates = [a for a in trace.acks_on("/update/accepted") if "/dur-get/" in a[2]]
        gets = [a for a in trace.acks_on("/get/accepted") if "/dur-get/" in a[2]]
        self.assertEqual((len(updates), len(gets)), (20, 20))
        for u, g in zip(updates, gets):
            self.assertGreaterEqual(g[0], u[0])  # the get waited for the update's write
            self.assertGreater(g[1], u[1])


if __name__ == "__main__":
    unittest.main()
