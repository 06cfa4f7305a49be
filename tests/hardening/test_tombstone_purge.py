"""Tombstones are purged after plugin_opt_tombstone_retention_s.

A deleted shadow leaves a tombstone that remembers its version for the
retention time; after it the shadow counts as never created. The
tombstones (and the documents they replaced) must then leave the database,
also when nothing else is written, so that disk use comes back. Checked
from outside: the table files in the data directory and the stored-shadows
gauge of /metrics."""

import glob
import os
import time
import unittest

from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import prefix
from shadowtest.rest import RestBroker, raw_request

SHADOWS = 3000
RETENTION_S = 10
DOC_BYTES = 1000
WINDOW = 200
ANSWER_TIMEOUT_S = 30
PURGE_TIMEOUT_S = 120   # the purge looks every RETENTION_S seconds


def thing(i):
    return "tomb%05d" % i


def table_bytes(data_dir):
    return sum(os.path.getsize(f) for f in glob.glob(os.path.join(data_dir, "*.sst")))


class TombstonePurge(ShadowTestCase):
    def setUp(self):
        self.broker = RestBroker(options={"tombstone_retention_s": str(RETENTION_S)})
        self.addCleanup(self.broker.cleanup)
        self.broker.start()

    def stored_estimate(self):
        r = raw_request(self.broker, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        for line in r.body.decode().splitlines():
            if line.startswith("shadow_stored_shadows_estimate "):
                return int(float(line.split()[1]))
        self.fail("no shadow_stored_shadows_estimate in /metrics")

    def each_shadow(self, op, payload):
        """`op` on every shadow, WINDOW requests in flight; all must be
        accepted. `payload(i)` is the request of shadow i."""
        c = self.client(op, prefix("+") + "/%s/accepted" % op, prefix("+") + "/%s/rejected" % op)
        for start in range(0, SHADOWS, WINDOW):
            batch = range(start, min(start + WINDOW, SHADOWS))
            for i in batch:
                c.publish(prefix(thing(i)) + "/" + op, payload(i), qos=0)
            answers = c.take([prefix(thing(i)) + "/%s/%s" % (op, outcome)
                              for i in batch for outcome in ("accepted", "rejected")],
                             len(batch), timeout=ANSWER_TIMEOUT_S)
            rejected = [m for m in answers if m.topic.endswith("/rejected")]
            self.assertEqual(rejected, [])
        c.close()

    def test_expired_tombstones_leave_the_disk(self):
        # Documents that do not compress away: random characters.
        self.each_shadow("update", lambda i: {"state": {"reported": {"doc": os.urandom(DOC_BYTES // 2).hex()}}})
        self.broker.restart()  # a clean stop writes everything to table files
        with_shadows = table_bytes(self.broker.data_dir)
        self.assertGreater(with_shadows, SHADOWS * DOC_BYTES // 2)

        self.each_shadow("delete", lambda i: b"")
        deleted_at = time.time()
        self.broker.restart()

        # Once the retention has passed, the purge runs by itself (bounded
        # wait): the tombstones and the documents they replaced are gone.
        time.sleep(max(0.0, deleted_at + RETENTION_S + 1 - time.time()))
        deadline = time.monotonic() + PURGE_TIMEOUT_S
        while True:
            estimate, on_disk = self.stored_estimate(), table_bytes(self.broker.data_dir)
            if estimate == 0 and on_disk * 10 < with_shadows:
                break
            self.assertLess(time.monotonic(), deadline,
                            "after %d s: %d keys, %d table bytes (%d with the shadows)"
                            % (PURGE_TIMEOUT_S, estimate, on_disk, with_shadows))
            time.sleep(1)

        # They stay gone across restarts, and a shadow created again starts
        # at version 1, as after the retention without a purge.
        self.broker.restart()
        self.broker.restart()
        self.assertEqual(self.stored_estimate(), 0)
        self.assertLess(table_bytes(self.broker.data_dir) * 10, with_shadows)
        doc = self.update_accepted(prefix(thing(7)), {"state": {"reported": {"again": True}}})
        self.assertEqual(doc["version"], 1)


if __name__ == "__main__":
    unittest.main()
