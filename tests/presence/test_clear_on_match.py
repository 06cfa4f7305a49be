"""clear_desired_on_match: once the reported value equals the desired one,
the desired key is removed by one further accepted write with its own
version and events, so a stale desired value cannot act again later."""

import unittest

from shadowtest.cases import BrokerTestCase
from presence_case import PresenceCase, unique
from shadowtest.mqtt import prefix


class ClearOnMatch(PresenceCase, BrokerTestCase):
    broker_options = {"clear_desired_on_match": "true", "event_topics": "aws"}

    def test_matching_report_clears_desired(self):
        thing = unique("lamp")
        p = prefix(thing)
        watcher = self.client("w", p + "/update/accepted", p + "/update/documents", p + "/update/delta",
                              p + "/get/accepted", p + "/get/rejected")
        self.update_accepted(p, {"state": {"desired": {"on": True, "level": 5}}})
        self.update_accepted(p, {"state": {"reported": {"on": True, "level": 3}}, "clientToken": "dev"})
        docs = watcher.take(p + "/update/documents", 3)
        self.assertEqual([d.json()["current"]["version"] for d in docs], [1, 2, 3])
        self.assertEqual(docs[2].json()["current"]["state"]["desired"], {"level": 5})
        self.assertNotIn("clientToken", docs[2].json())
        accepted = watcher.take(p + "/update/accepted", 3)
        follow_up = accepted[2].json()
        self.assertEqual(follow_up["state"], {"desired": {"on": None}})
        self.assertEqual(follow_up["version"], 3)
        self.assertNotIn("clientToken", follow_up)
        self.assertEqual(accepted[1].json()["clientToken"], "dev")
        doc = watcher.barrier(p)
        self.assertEqual(doc["version"], 3)
        self.assertEqual(doc["state"]["delta"], {"level": 5})
        # The follow-up publishes no delta of its own.
        self.assertEqual(len(watcher.take(p + "/update/delta", 2)), 2)
        self.assertEqual(watcher.pending(p + "/update/delta"), [])


if __name__ == "__main__":
    unittest.main()
