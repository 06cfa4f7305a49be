"""Persistence across a clean restart: SIGTERM, start again on the same data
directory, and every shadow reads back identically (state, metadata,
version); tombstones survive too."""

import unittest

from shadowtest.broker import Broker
from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import prefix


class CleanRestart(ShadowTestCase):

    def setUp(self):
        self.broker = Broker().start()
        self.addCleanup(self.broker.cleanup)
        self.addCleanup(self.broker.report_if_exited)

    def test_documents_survive_sigterm_and_restart(self):
        shadows = {
            prefix("keep1"): [
                {"state": {"reported": {"lights": "on", "doors": "locked", "temp": 21.5}}},
                {"state": {"desired": {"lights": "off", "modes": ["eco", "night"],
                                       "nested": {"a": {"b": {}}}}}},
            ],
            prefix("keep1", "cfg"): [{"state": {"desired": {"interval": 60}}}],
            prefix("keep2", None, "short"): [{"state": {"reported": {"fw": "1.2.3"}}},
                                             {"state": {"reported": {"fw": None, "ok": True}}}],
            prefix("keep3"): [{"state": {}}],  # an empty shadow exists too
        }
        for p, updates in shadows.items():
            for u in updates:
                self.update_accepted(p, u)
        before = {p: self.get_accepted(p) for p in shadows}

        gone = prefix("gone1")
        self.update_accepted(gone, {"state": {"reported": {"x": 1}}})
        self.update_accepted(gone, {"state": {"reported": {"x": 2}}})
        outcome, deleted = self.request(gone, "delete", b"")
        self.assertEqual((outcome, deleted["version"]), ("accepted", 2))

        self.assertEqual(self.broker.stop(), 0, self.broker.log()[-3000:])
        self.broker.start()

        for p, doc in before.items():
            with self.subTest(shadow=p):
                self.assertStored(self.get_accepted(p), doc)
        outcome, doc = self.get_shadow(gone)
        self.assertEqual((outcome, doc["code"]), ("rejected", 404))
        # The tombstone survived: re-creation does not reuse old versions.
        self.assertGreater(self.update_accepted(gone, {"state": {}})["version"], 2)
        # Versions continue where they were.
        for p, doc in before.items():
            with self.subTest(shadow=p):
                acc = self.update_accepted(p, {"state": {"reported": {"after": 1}}})
                self.assertEqual(acc["version"], doc["version"] + 1)

    def test_second_restart_keeps_later_writes(self):
        p = prefix("twice")
        self.update_accepted(p, {"state": {"reported": {"n": 1}}})
        self.broker.restart()
        self.update_accepted(p, {"state": {"reported": {"n": 2}}})
        expected = self.get_accepted(p)
        self.broker.restart()
        doc = self.get_accepted(p)
        self.assertStored(doc, expected)
        self.assertEqual((doc["state"]["reported"], doc["version"]), ({"n": 2}, 2))


if __name__ == "__main__":
    unittest.main()
