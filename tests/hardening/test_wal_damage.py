"""A damaged or missing write-ahead log after a crash.

Acknowledged updates that were only in the write-ahead log (the broker was
killed with SIGKILL) must not disappear silently when that log is damaged:
by default the broker refuses to start and says which file, what is wrong
and how to recover; with plugin_opt_wal_recovery point_in_time it starts
with everything before the damage, keeps the damaged file and logs how much
was dropped. A log deleted after a clean shutdown loses nothing."""

import glob
import os
import unittest

from shadowtest.broker import Broker
from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import prefix

SHADOWS = 200
PAD = "w" * 300


def thing(i):
    return "wal%04d" % i


class WalDamage(ShadowTestCase):
    def setUp(self):
        self.broker = Broker()
        self.addCleanup(self.broker.cleanup)
        self.broker.start()

    def write_shadows(self):
        """SHADOWS acknowledged updates, one per thing, in order."""
        c = self.client("writer", prefix("+") + "/update/accepted", prefix("+") + "/update/rejected")
        for i in range(SHADOWS):
            outcome, doc = c.request(prefix(thing(i)), "update", {"state": {"reported": {"i": i, "pad": PAD}}})
            self.assertEqual(outcome, "accepted", doc)
        c.close()

    def wal_files(self):
        return sorted(glob.glob(os.path.join(self.broker.data_dir, "*.log")))

    def present(self):
        """Which shadows exist, asked with one client."""
        c = self.client("reader", prefix("+") + "/get/accepted", prefix("+") + "/get/rejected")
        found = []
        for i in range(SHADOWS):
            outcome, doc = c.request(prefix(thing(i)), "get", b"")
            if outcome == "accepted":
                self.assertEqual(doc["state"]["reported"], {"i": i, "pad": PAD})
                found.append(i)
            else:
                self.assertEqual(doc["code"], 404, doc)
        c.close()
        return found

    def refused(self, *wanted):
        code, log = self.broker.start_expect_exit()
        self.assertNotEqual(code, 0, log)
        for text in wanted:
            self.assertIn(text, log)
        return log

    def test_a_flipped_byte_is_refused_then_recovered_on_request(self):
        self.write_shadows()
        self.broker.kill9()
        # RocksDB may keep empty logs of earlier opens; one holds the writes.
        [wal] = [f for f in self.wal_files() if os.path.getsize(f) > 0]
        size = os.path.getsize(wal)
        middle = size // 2
        with open(wal, "r+b") as f:
            f.seek(middle)
            byte = f.read(1)
            f.seek(middle)
            f.write(bytes([byte[0] ^ 0xFF]))

        # Strict, the default: no start; the file, the finding, the way out.
        self.refused("shadow: cannot start: the write-ahead log " + wal, "checksum mismatch",
                     "plugin_opt_wal_recovery point_in_time", "docs/operations.md")
        self.assertEqual(os.path.getsize(wal), size)  # left as it was

        # Point-in-time on request: starts with the shadows before the damage.
        self.broker.options["wal_recovery"] = "point_in_time"
        offset = self.broker.log_size()
        self.broker.start()
        log = self.broker.log(since=offset)
        self.assertIn("shadow: recovered the shadow database", log)
        self.assertIn(wal, log)
        self.assertIn("bytes of the log (in 1 file) after that point were dropped", log)
        kept = glob.glob(os.path.join(self.broker.data_dir, "damaged-wal-*", os.path.basename(wal)))
        self.assertEqual(len(kept), 1, log)
        self.assertIn(os.path.dirname(kept[0]), log)
        self.assertEqual(os.path.getsize(kept[0]), size)
        found = self.present()
        self.assertEqual(found, list(range(len(found))))  # the writes before the damage
        self.assertGreater(len(found), 0)
        self.assertLess(len(found), SHADOWS)

        # Recovered for good: strict starts again.
        del self.broker.options["wal_recovery"]
        self.broker.restart()
        self.assertEqual(self.present(), found)

    def test_a_log_deleted_after_a_crash_is_refused(self):
        self.write_shadows()
        self.broker.kill9()
        for wal in self.wal_files():
            os.remove(wal)
        self.refused("shadow: cannot start: the write-ahead log of the shadow database",
                     "is missing although the broker did not shut down cleanly",
                     "plugin_opt_wal_recovery point_in_time")
        self.broker.options["wal_recovery"] = "point_in_time"
        offset = self.broker.log_size()
        self.broker.start()
        self.assertIn("is missing although the broker did not shut down cleanly", self.broker.log(since=offset))
        self.assertEqual(self.present(), [])

    def test_a_log_deleted_after_a_clean_stop_loses_nothing(self):
        self.write_shadows()
        self.assertEqual(self.broker.stop(), 0)
        for wal in self.wal_files():
            self.assertEqual(os.path.getsize(wal), 0)  # flushed to table files at the stop
            os.remove(wal)
        self.broker.start()
        self.assertEqual(self.present(), list(range(SHADOWS)))


if __name__ == "__main__":
    unittest.main()
