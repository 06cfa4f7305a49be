"""The shadow history against a real broker (docs/fleet.md#history): what
each entry records (state, metadata, version, timestamp, clientToken,
channel, identity) for MQTT and REST writers, retention of the newest N,
paging, bad parameters, and the purge once a deleted shadow's tombstone
retention has passed."""

import time
import unittest

from shadowtest.fleet import history
from shadowtest.rest import ACCESS_KEY, RestTestCase

PURGE_WAIT_S = 60.0


class History(RestTestCase):
    broker_options = {"history_versions": 3, "tombstone_retention_s": 2}

    def entries(self, thing, **kw):
        r = history(self.broker, thing, **kw)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_entries_record_what_and_who(self):
        p = "$aws/things/hist-1/shadow"
        dev = self.client("dev", p + "/update/accepted", p + "/update/rejected", client_id="hist-1-device")
        dev.request(p, "update", {"state": {"reported": {"temp": 20}}, "clientToken": "tok-1"})
        self.rest_update("hist-1", {"state": {"desired": {"temp": 22}}})
        body = self.entries("hist-1")
        self.assertNotIn("nextVersion", body)
        first, second = body["results"]
        self.assertEqual((first["version"], first["operation"], first["channel"], first["identity"]),
                         (1, "update", "mqtt", "hist-1-device"))
        self.assertEqual(first["clientToken"], "tok-1")
        self.assertEqual(first["state"], {"reported": {"temp": 20}})
        self.assertTimestamp(first["timestamp"])
        self.assertTimestamp(first["metadata"]["reported"]["temp"]["timestamp"])
        self.assertEqual((second["version"], second["channel"], second["identity"]), (2, "rest", ACCESS_KEY))
        self.assertEqual(second["state"], {"desired": {"temp": 22}, "reported": {"temp": 20}})

    def test_retention_and_paging(self):
        for n in range(6):
            self.rest_update("hist-2", {"state": {"reported": {"n": n}}})
        body = self.entries("hist-2")
        self.assertEqual([e["version"] for e in body["results"]], [4, 5, 6])
        page = self.entries("hist-2", page_size=2)
        self.assertEqual([e["version"] for e in page["results"]], [4, 5])
        self.assertEqual(page["nextVersion"], 6)
        last = self.entries("hist-2", from_version=6, page_size=2)
        self.assertEqual([e["version"] for e in last["results"]], [6])
        self.assertNotIn("nextVersion", last)
        # Named shadows have their own history.
        self.rest_update("hist-2", {"state": {"reported": {"x": 1}}}, shadow="cfg")
        named = self.entries("hist-2", shadow="cfg")
        self.assertEqual([e["version"] for e in named["results"]], [1])

    def test_bad_requests(self):
        self.rest_update("hist-3", {"state": {"reported": {"n": 1}}})
        for kw, status in (({"from_version": "x"}, 400), ({"page_size": 0}, 400), ({"page_size": 101}, 400)):
            with self.subTest(kw=kw):
                r = history(self.broker, "hist-3", **kw)
                self.assertEqual(r.status, status, r)
                self.assertIn("message", r.json())
        r = history(self.broker, "never-written")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()["message"], "No shadow exists with name: 'never-written'")

    def test_purged_with_the_shadow(self):
        for n in range(2):
            self.rest_update("hist-4", {"state": {"reported": {"n": n}}})
        self.rest_delete("hist-4")
        body = self.entries("hist-4")
        self.assertEqual([(e["version"], e["operation"]) for e in body["results"]],
                         [(1, "update"), (2, "update"), (3, "delete")])
        # The retention is 2 s and the purge looks every 10 s: poll, bounded.
        deadline = time.monotonic() + PURGE_WAIT_S
        while history(self.broker, "hist-4").status != 404:
            self.assertLess(time.monotonic(), deadline, "history of a deleted shadow not purged")
            time.sleep(0.2)


class HistoryOff(RestTestCase):

    def test_off_by_default(self):
        self.rest_update("t", {"state": {"reported": {"n": 1}}})
        r = history(self.broker, "t")
        self.assertEqual(r.status, 400, r)
        self.assertIn("plugin_opt_history_versions", r.json()["message"])


if __name__ == "__main__":
    unittest.main()
