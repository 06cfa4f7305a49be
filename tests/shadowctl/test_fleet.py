"""shadowctl's fleet commands against a real broker: search (table, --json,
--count, --stats, --field, paging by --limit, bad queries), fleet-update
(summary, idempotent --id, --no-wait, named shadow, exit statuses),
fleet-status, fleet-cancel, and history (the table of changes, --json,
history off)."""

import json
import unittest

from ctl_case import (CtlTestCase, EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_OK, EXIT_REQUEST, EXIT_USAGE)
from shadowtest.fleet import fill


class FleetCommands(CtlTestCase):
    broker_options = {"history_versions": 5}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        docs = [("ctl-line-%d-dev-%02d" % (n % 2, n), None,
                 {"reported": {"temp": 90 + n, "fw": "v1.%d" % (n % 3)}, "desired": {"fw": "v1.0"}})
                for n in range(10)]
        fill(cls.broker.port, docs)

    def test_search_table(self):
        p = self.ctl("search", "thingName:ctl-line-1* AND shadow.reported.temp > 94", expect=EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["THING", "VERSION", "DELTA", "REPORTED"])
        self.assertEqual([l.split()[0] for l in lines[1:]], ["ctl-line-1-dev-05", "ctl-line-1-dev-07",
                                                              "ctl-line-1-dev-09"])
        self.assertIn('{"temp":95,"fw":"v1.2"}', lines[1])
        self.assertEqual(lines[1].split()[1:3], ["1", "yes"])
        self.assertIn("3 things", p.stderr)

    def test_search_fields_limit_json(self):
        p = self.ctl("search", "thingName:ctl-*", "--field", "reported.fw", "--field", "desired.fw",
                     "--limit", "3", "--page-size", "2", expect=EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["THING", "VERSION", "DELTA", "reported.fw", "desired.fw"])
        self.assertEqual(lines[1].split(), ["ctl-line-0-dev-00", "1", "no", "v1.0", "v1.0"])
        self.assertEqual(len(lines), 4)
        self.assertIn("more match", p.stderr)
        doc = self.ctl_json("search", "thingName:ctl-line-0-dev-02")
        self.assertEqual([t["thingName"] for t in doc["things"]], ["ctl-line-0-dev-02"])
        self.assertEqual(doc["things"][0]["shadow"]["reported"]["temp"], 92)
        self.assertNotIn("truncated", doc)

    def test_count_and_stats(self):
        p = self.ctl("search", "thingName:ctl-*", "--count", expect=EXIT_OK)
        self.assertEqual(p.stdout.strip(), "10")
        stats = self.ctl_json("search", "thingName:ctl-*", "--stats", "shadow.reported.temp")
        self.assertEqual((stats["count"], stats["minimum"], stats["maximum"], stats["sum"]), (10, 90, 99, 945))
        p = self.ctl("search", "thingName:ctl-*", "--stats", "shadow.reported.temp", expect=EXIT_OK)
        self.assertIn("average", p.stdout)

    def test_bad_query(self):
        p = self.ctl("search", "thingName:(", expect=EXIT_REQUEST)
        self.assertIn("position 12", p.stderr)
        self.assertIn("docs/fleet.md", p.stderr)
        p = self.ctl("search", "attributes.x:1", expect=EXIT_REQUEST)
        self.assertIn("no thing registry", p.stderr)

    def test_fleet_update_status_cancel(self):
        query = "thingName:ctl-* AND shadow.reported.fw:v1.1"
        p = self.ctl("fleet-update", "--query", query, "--desired", '{"fw":"v1.9"}', "--id", "ctl-fw",
                     expect=EXIT_OK)
        self.assertIn("3 things match", p.stderr)
        self.assertIn("fleet update ctl-fw COMPLETED: 3 matched, 3 updated, 0 failed", p.stderr)
        updated = self.ctl_json("search", "shadow.desired.fw:v1.9")
        self.assertEqual([t["thingName"] for t in updated["things"]],
                         ["ctl-line-0-dev-04", "ctl-line-1-dev-01", "ctl-line-1-dev-07"])
        self.assertEqual(updated["things"][0]["shadow"]["version"], 2)
        # The same id again follows the same operation: nothing more is updated.
        p = self.ctl("fleet-update", "--query", query, "--desired", '{"fw":"v1.9"}', "--id", "ctl-fw",
                     expect=EXIT_OK)
        self.assertIn("exists already", p.stderr)
        self.assertIn("3 updated", p.stderr)
        self.assertEqual(self.ctl_json("get", "ctl-line-0-dev-04")["version"], 2)
        # Another request under the same id is a conflict.
        p = self.ctl("fleet-update", "--query", "*", "--desired", '{"fw":"x"}', "--id", "ctl-fw",
                     expect=EXIT_CONFLICT)
        self.assertIn("exists with another request", p.stderr)
        status = self.ctl_json("fleet-status", "ctl-fw")
        self.assertEqual((status["status"], status["updated"]), ("COMPLETED", 3))
        table = self.ctl("fleet-status", expect=EXIT_OK).stdout
        self.assertIn("ctl-fw", table)
        p = self.ctl("fleet-cancel", "ctl-fw", expect=EXIT_CONFLICT)
        self.assertIn("already finished", p.stderr)
        p = self.ctl("fleet-status", "no-such-op", expect=EXIT_NOT_FOUND)
        self.assertIn("no fleet update 'no-such-op'", p.stderr)

    def test_fleet_update_no_wait_and_named_shadow(self):
        p = self.ctl("fleet-update", "--query", "thingName:ctl-line-1-dev-01", "--shadow", "ota",
                     "--reported", '{"stage":"ready"}', "--no-wait", expect=EXIT_OK)
        op_id = p.stdout.strip()
        self.assertTrue(op_id)
        for _ in range(600):
            status = self.ctl_json("fleet-status", op_id)
            if status["status"] != "RUNNING":
                break
        self.assertEqual((status["status"], status["shadowName"], status["updated"]), ("COMPLETED", "ota", 1))
        doc = self.ctl_json("get", "ctl-line-1-dev-01", "--shadow", "ota")
        self.assertEqual(doc["state"]["reported"], {"stage": "ready"})

    def test_fleet_update_usage_errors(self):
        p = self.ctl("fleet-update", "--query", "*", expect=EXIT_USAGE)
        self.assertIn("--desired", p.stderr)
        p = self.ctl("fleet-update", "--query", "*", "--desired", "[1]", expect=EXIT_USAGE)
        self.assertIn("JSON object", p.stderr)
        p = self.ctl("fleet-update", "--query", "thingName:(", "--desired", "{}", expect=EXIT_REQUEST)
        self.assertIn("position", p.stderr)

    def test_history(self):
        thing = self.thing()
        self.ctl("update", thing, "--reported", '{"temp":20,"mode":"eco"}', expect=EXIT_OK)
        self.ctl("update", thing, "--desired", '{"temp":22}', expect=EXIT_OK)
        self.ctl("update", thing, "--reported", '{"temp":22,"mode":null}', expect=EXIT_OK)
        p = self.ctl("history", thing, expect=EXIT_OK)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split()[:2], ["VERSION", "TIME"])
        self.assertTrue(lines[1].startswith("1 "))
        self.assertIn("+reported.mode=\"eco\" +reported.temp=20", lines[1])
        self.assertIn("+desired.temp=22", lines[2])
        self.assertIn("reported.temp:20->22 -reported.mode", lines[3])
        self.assertIn("rest", lines[3])
        entries = self.ctl_json("history", thing)
        self.assertEqual([e["version"] for e in entries], [1, 2, 3])
        self.assertEqual(entries[2]["state"]["reported"], {"temp": 22})
        # Only the newest five are kept: the first row says so.
        for n in range(5):
            self.ctl("update", thing, "--reported", '{"n":%d}' % n, expect=EXIT_OK)
        p = self.ctl("history", thing, "--limit", "2", expect=EXIT_OK)
        rows = p.stdout.splitlines()[1:]
        self.assertEqual([r.split()[0] for r in rows], ["4", "5"])
        self.assertIn("(earliest kept)", rows[0])
        self.assertIn("raise --limit", p.stderr)
        self.ctl("history", "never-written-thing", expect=EXIT_NOT_FOUND)


class HistoryOff(CtlTestCase):

    def test_history_off(self):
        self.ctl("update", "t", "--reported", '{"a":1}', expect=EXIT_OK)
        p = self.ctl("history", "t", expect=EXIT_REQUEST)
        self.assertIn("plugin_opt_history_versions", p.stderr)


if __name__ == "__main__":
    unittest.main()
