"""The broker runs out of file descriptors, then gets them back.

When every descriptor is taken (idle TCP connections filling a table of
1024 did it), RocksDB cannot create its next write-ahead log file, calls the
error fatal and stops taking writes for good. The plugin must say so (log,
/healthz 503), keep refusing writes rather than lose them, and recover by
itself once descriptors are free again, with every acknowledged update
still there.

The test takes the descriptors away the deterministic way: it lowers the
running broker's descriptor limit (prlimit) below the descriptors in use,
so every new one fails with EMFILE exactly as when the table is full, and
the database cannot win back the ones its own recovery frees. It then
allows exactly one new descriptor, enough for an HTTP connection to
/healthz and not for reopening the database, and finally restores the
limit."""

import os
import resource
import time
import unittest

from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import prefix
from shadowtest.rest import RestBroker, raw_request

PAD = "p" * 7900          # ~8 KB stored per shadow: the 16 MiB write buffer fills after ~2,100
MAX_UPDATES = 6000        # bound on the writes that must reach the failure
WINDOW = 50               # updates in flight
ANSWER_TIMEOUT_S = 30
RECOVERY_TIMEOUT_S = 90   # recovery retries at most every 10 s


def open_fds(pid):
    return {int(name) for name in os.listdir("/proc/%d/fd" % pid)}


def free_numbers(pid, count):
    """The `count` lowest descriptor numbers the process does not use."""
    used = open_fds(pid)
    free = []
    n = 0
    while len(free) < count:
        if n not in used:
            free.append(n)
        n += 1
    return free


class DescriptorExhaustion(ShadowTestCase):
    def setUp(self):
        self.broker = RestBroker()
        self.broker.start()
        self.addCleanup(self.broker.cleanup)
        self.pid = self.broker.proc.pid
        self.limit = resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
        self.addCleanup(self.restore_limit)

    def restore_limit(self):
        if self.broker.alive():
            resource.prlimit(self.pid, resource.RLIMIT_NOFILE, self.limit)

    def allow_new_descriptors(self, n):
        """Sets the soft limit so that exactly `n` descriptor numbers are free
        below it (descriptors above it stay valid)."""
        soft = free_numbers(self.pid, n + 1)[n]
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (soft, self.limit[1]))

    def healthz(self):
        return raw_request(self.broker, "GET", "/healthz", sign=False)

    def test_store_fails_visibly_and_recovers_when_descriptors_return(self):
        p = prefix("+")
        writer = self.client("writer", p + "/update/accepted", p + "/update/rejected")
        self.assertEqual(self.healthz().status, 200)
        log_offset = self.broker.log_size()

        # No new descriptor: write until the database must create a file.
        self.allow_new_descriptors(0)
        acknowledged, failed = [], []
        sent = 0
        while not failed and sent < MAX_UPDATES:
            batch = range(sent, min(sent + WINDOW, MAX_UPDATES))
            for i in batch:
                writer.publish(prefix("fd%05d" % i) + "/update",
                               {"state": {"reported": {"i": i, "pad": PAD}}}, qos=0)
            answers = writer.take([prefix("fd%05d" % i) + "/update/" + outcome
                                   for i in batch for outcome in ("accepted", "rejected")],
                                  len(batch), timeout=ANSWER_TIMEOUT_S)
            for m in answers:
                thing = m.topic.split("/")[2]
                if m.topic.endswith("/accepted"):
                    acknowledged.append(thing)
                else:
                    failed.append((thing, m.json()))
            sent += len(batch)
        self.assertTrue(failed, "no update failed in %d writes without descriptors" % sent)
        for thing, doc in failed:
            self.assertEqual(doc["code"], 500, (thing, doc))
        self.assertGreater(len(acknowledged), 1000)

        # Still broken: one descriptor is enough for a health check, not for
        # reopening the database. Writes keep failing meanwhile.
        self.allow_new_descriptors(1)
        r = self.healthz()
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()["status"], "unavailable")
        self.assertIn("Too many open files", r.json()["reason"])
        outcome, doc = writer.request(prefix("fd-during"), "update", {"state": {"reported": {"x": 1}}})
        self.assertEqual((outcome, doc["code"]), ("rejected", 500))

        # Descriptors are back: the store recovers by itself, within bounds.
        self.restore_limit()
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        attempts = 0
        while True:
            attempts += 1
            outcome, doc = writer.request(prefix("fd-after"), "update",
                                          {"state": {"reported": {"attempt": attempts}}})
            if outcome == "accepted":
                break
            self.assertEqual(doc["code"], 500, doc)
            self.assertLess(time.monotonic(), deadline,
                            "updates still fail %d s after the limit was restored" % RECOVERY_TIMEOUT_S)
            time.sleep(0.5)
        r = self.healthz()
        self.assertEqual((r.status, r.json()), (200, {"status": "ok"}))

        # Nothing acknowledged was lost.
        reader = self.client("reader", prefix("+") + "/get/accepted", prefix("+") + "/get/rejected")
        step = max(1, len(acknowledged) // 40)
        for thing in acknowledged[::step] + acknowledged[-1:]:
            outcome, doc = reader.request(prefix(thing), "get", b"")
            self.assertEqual(outcome, "accepted", (thing, doc))
            self.assertEqual(doc["state"]["reported"]["pad"], PAD)

        # The operator was told why, once, and that it is over.
        log = self.broker.log(since=log_offset)
        failures = [line for line in log.splitlines() if "shadow: the shadow database failed" in line]
        self.assertEqual(len(failures), 1, log[-3000:])
        self.assertIn("Too many open files", failures[0])
        self.assertIn("LimitNOFILE", failures[0])
        self.assertIn("shadow: the shadow database recovered after", log)


if __name__ == "__main__":
    unittest.main()
