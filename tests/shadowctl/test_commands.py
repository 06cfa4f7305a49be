"""shadowctl get, update, delete and list against a real broker (REST with
plugin_opt_http_auth none): documents, --json output and exit statuses."""

import json
import os
import tempfile
import unittest

from ctl_case import (CtlTestCase, EXIT_CONFLICT, EXIT_CONNECTION, EXIT_NOT_FOUND, EXIT_OK,
                      EXIT_REQUEST, EXIT_USAGE, clean_env)
from shadowtest.broker import free_port


class GetUpdateDelete(CtlTestCase):

    def test_update_then_get_returns_the_merged_document(self):
        t = self.thing()
        accepted = self.ctl_json("update", t, "--desired", '{"lights":"on","fan":1}')
        self.assertEqual(accepted["state"], {"desired": {"lights": "on", "fan": 1}})
        self.assertEqual(accepted["version"], 1)

        self.ctl_json("update", t, "--reported", '{"lights":"off"}', "--desired", '{"fan":null}')
        doc = self.ctl_json("get", t)
        self.assertEqual(doc["state"]["desired"], {"lights": "on"})
        self.assertEqual(doc["state"]["reported"], {"lights": "off"})
        self.assertEqual(doc["state"]["delta"], {"lights": "on"})
        self.assertEqual(doc["version"], 2)

    def test_json_output_is_one_compact_line(self):
        t = self.thing()
        self.ctl_json("update", t, "--reported", '{"a":{"b":[1,2]}}')
        proc = self.ctl("--json", "get", t, expect=EXIT_OK)
        self.assertEqual(proc.stdout.count("\n"), 1, proc.stdout)
        self.assertEqual(json.loads(proc.stdout)["state"]["reported"], {"a": {"b": [1, 2]}})

    def test_readable_output_off_a_terminal_is_pretty_json_without_colors(self):
        t = self.thing()
        self.ctl_json("update", t, "--reported", '{"a":1}')
        out = self.ctl("get", t, expect=EXIT_OK).stdout
        self.assertNotIn("\033[", out)
        self.assertIn('\n  "state": {', out)
        self.assertEqual(json.loads(out)["state"]["reported"], {"a": 1})

    def test_named_shadow_is_separate_from_the_classic_one(self):
        t = self.thing()
        self.ctl_json("update", t, "--shadow", "config", "--reported", '{"fw":"1.2"}')
        self.assertEqual(self.ctl_json("get", t, "--shadow", "config")["state"]["reported"],
                         {"fw": "1.2"})
        proc = self.ctl("get", t, expect=EXIT_NOT_FOUND)
        self.assertIn("no classic shadow of '%s'" % t, proc.stderr)
        self.assertEqual(proc.stdout, "")

    def test_update_from_file_and_from_stdin(self):
        t = self.thing()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"state":{"desired":{"mode":"eco"}},"clientToken":"tok-1"}')
        self.addCleanup(os.unlink, f.name)
        accepted = self.ctl_json("update", t, "--file", f.name)
        self.assertEqual(accepted["clientToken"], "tok-1")

        accepted = self.ctl_json("update", t, "-", stdin='{"state":{"reported":{"mode":"eco"}}}')
        self.assertEqual(accepted["version"], 2)
        doc = self.ctl_json("get", t)
        self.assertEqual(doc["state"]["reported"], {"mode": "eco"})
        self.assertNotIn("delta", doc["state"])

    def test_version_conflict_exits_3(self):
        t = self.thing()
        self.ctl_json("update", t, "--desired", '{"x":1}')
        self.ctl_json("update", t, "--desired", '{"x":2}', "--version", "1")
        proc = self.ctl("update", t, "--desired", '{"x":3}', "--version", "1",
                        expect=EXIT_CONFLICT)
        self.assertIn("version conflict", proc.stderr)
        self.assertIn("shadowctl get %s" % t, proc.stderr)  # the hint says what to do
        self.assertEqual(self.ctl_json("get", t)["state"]["desired"], {"x": 2})

    def test_rejected_update_exits_4(self):
        proc = self.ctl("update", "bad.name", "--desired", '{"x":1}', expect=EXIT_REQUEST)
        self.assertIn("400", proc.stderr)
        self.assertIn("ThingName", proc.stderr)

    def test_delete_then_get_and_delete_again_exit_2(self):
        t = self.thing()
        self.ctl_json("update", t, "--shadow", "s", "--desired", '{"x":1}')
        self.ctl_json("update", t, "--shadow", "s", "--desired", '{"x":2}')
        self.assertEqual(self.ctl_json("delete", t, "--shadow", "s")["version"], 2)
        self.ctl("get", t, "--shadow", "s", expect=EXIT_NOT_FOUND)
        proc = self.ctl("delete", t, "--shadow", "s", expect=EXIT_NOT_FOUND)
        self.assertIn("shadowctl list %s" % t, proc.stderr)

    def test_readable_delete_says_what_was_deleted(self):
        t = self.thing()
        self.ctl_json("update", t, "--desired", '{"x":1}')
        out = self.ctl("delete", t, expect=EXIT_OK).stdout
        self.assertIn("deleted classic shadow of '%s'" % t, out)
        self.assertIn("version 1", out)


class UsageErrors(CtlTestCase):

    def test_invalid_json_exits_1_without_sending(self):
        t = self.thing()
        proc = self.ctl("update", t, "--desired", '{"x":', expect=EXIT_USAGE)
        self.assertIn("--desired is not valid JSON", proc.stderr)
        self.ctl("get", t, expect=EXIT_NOT_FOUND)  # nothing was created

    def test_non_object_section_exits_1(self):
        self.ctl("update", self.thing(), "--reported", "[1]", expect=EXIT_USAGE)

    def test_update_without_a_change_exits_1(self):
        proc = self.ctl("update", self.thing(), expect=EXIT_USAGE)
        self.assertIn("--desired", proc.stderr)

    def test_file_and_desired_together_exit_1(self):
        self.ctl("update", self.thing(), "--desired", "{}", "--file", "x.json", expect=EXIT_USAGE)

    def test_unknown_subcommand_and_missing_thing_exit_1(self):
        self.ctl("frobnicate", expect=EXIT_USAGE)
        self.ctl("get", expect=EXIT_USAGE)
        self.ctl(expect=EXIT_USAGE)

    def test_bad_endpoint_exits_1(self):
        proc = self.ctl("--endpoint", "127.0.0.1:8080", "get", "t", endpoint=False,
                        expect=EXIT_USAGE)
        self.assertIn("http://", proc.stderr)

    def test_endpoint_from_environment(self):
        t = self.thing()
        env = clean_env(SHADOWCTL_ENDPOINT=self.broker.endpoint)
        self.ctl("--no-auth", "update", t, "--desired", "{\"a\":1}", endpoint=False, env=env,
                 expect=EXIT_OK)
        self.ctl("--no-auth", "get", t, endpoint=False, env=env, expect=EXIT_OK)

    def test_connection_refused_exits_6_with_a_hint(self):
        port = free_port()  # nothing listens there
        proc = self.ctl("--no-auth", "--endpoint", "http://127.0.0.1:%d" % port, "get", "t",
                        endpoint=False, expect=EXIT_CONNECTION)
        self.assertIn("cannot reach the REST API", proc.stderr)
        self.assertIn("plugin_opt_http_listen", proc.stderr)

    def test_help_of_every_subcommand_has_examples(self):
        for sub in ("get", "update", "delete", "list", "watch", "export", "import"):
            proc = self.ctl(sub, "--help", endpoint=False, expect=EXIT_OK)
            self.assertIn("Examples:", proc.stdout, sub)
            self.assertIn("shadowctl %s" % sub, proc.stdout, sub)
        top = self.ctl("--help", endpoint=False, expect=EXIT_OK).stdout
        self.assertIn("Exit status", top)


class List(CtlTestCase):

    def test_list_follows_next_token_through_every_page(self):
        t = self.thing()
        names = ["n%02d" % i for i in range(7)]
        for n in names:
            self.ctl_json("update", t, "--shadow", n, "--reported", '{"i":1}')
        self.ctl_json("update", t, "--reported", '{"classic":true}')  # never listed

        for page_size in ("1", "3", "100"):
            listed = self.ctl_json("list", t, "--page-size", page_size)
            self.assertEqual(listed, {"thing": t, "results": names}, page_size)

        readable = self.ctl("list", t, "--page-size", "2", expect=EXIT_OK).stdout
        self.assertEqual(readable.split(), names)

    def test_deleted_shadows_are_not_listed(self):
        t = self.thing()
        for n in ("a", "b"):
            self.ctl_json("update", t, "--shadow", n, "--reported", '{"i":1}')
        self.ctl_json("delete", t, "--shadow", "a")
        self.assertEqual(self.ctl_json("list", t)["results"], ["b"])

    def test_unknown_thing_lists_nothing(self):
        self.assertEqual(self.ctl_json("list", self.thing())["results"], [])
        self.assertEqual(self.ctl("list", self.thing(), expect=EXIT_OK).stdout, "")

    def test_page_size_out_of_range_exits_1(self):
        self.ctl("list", "t", "--page-size", "0", expect=EXIT_USAGE)
        self.ctl("list", "t", "--page-size", "101", expect=EXIT_USAGE)


if __name__ == "__main__":
    unittest.main()
