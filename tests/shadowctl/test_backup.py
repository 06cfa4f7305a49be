"""shadowctl export and import: a JSON Lines backup of classic and named
shadows, restored after the shadows were deleted."""

import json
import os
import tempfile
import unittest

from ctl_case import CtlTestCase, EXIT_NOT_FOUND, EXIT_OK, EXIT_REQUEST, EXIT_USAGE, state_of


class Backup(CtlTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shadowctl-backup-")

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def make_shadows(self):
        """Two things with classic and named shadows; returns {(thing, shadow): state}."""
        a, b = self.thing("-a"), self.thing("-b")
        self.ctl_json("update", a, "--desired", '{"lights":"on","n":{"x":[1,2]}}',
                      "--reported", '{"lights":"off"}')
        self.ctl_json("update", a, "--shadow", "cfg", "--reported", '{"fw":"1.2","ok":true}')
        self.ctl_json("update", a, "--shadow", "ota", "--desired", '{"url":"http://x/y"}')
        self.ctl_json("update", b, "--shadow", "only-named", "--reported", '{"t":21.5}')
        shadows = [(a, None), (a, "cfg"), (a, "ota"), (b, "only-named")]
        return {key: state_of(self.get(*key)) for key in shadows}

    def get(self, thing, shadow=None):
        args = ["get", thing] + (["--shadow", shadow] if shadow else [])
        return self.ctl_json(*args)

    def delete_all(self, shadows):
        for thing, shadow in shadows:
            self.ctl("delete", thing, *(["--shadow", shadow] if shadow else []), expect=EXIT_OK)
            self.ctl("get", thing, *(["--shadow", shadow] if shadow else []),
                     expect=EXIT_NOT_FOUND)

    def test_export_delete_import_restores_the_documents(self):
        before = self.make_shadows()
        things = sorted({t for t, _ in before})
        proc = self.ctl("export", *things, "--file", self.path("b.jsonl"), expect=EXIT_OK)
        self.assertIn("exported 4 shadows of 2 things", proc.stderr)

        with open(self.path("b.jsonl")) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual({(l["thing"], l["shadow"]) for l in lines}, set(before))
        for line in lines:
            self.assertEqual(line["state"], before[(line["thing"], line["shadow"])])
            self.assertIsInstance(line["version"], int)

        self.delete_all(before)
        proc = self.ctl("import", self.path("b.jsonl"), expect=EXIT_OK)
        self.assertIn("imported 4 shadows, 0 failed", proc.stderr)
        for (thing, shadow), state in before.items():
            self.assertEqual(state_of(self.get(thing, shadow)), state, (thing, shadow))
        self.assertEqual(self.ctl_json("list", things[0])["results"], ["cfg", "ota"])

    def test_things_from_stdin_and_export_to_stdout(self):
        before = self.make_shadows()
        things = sorted({t for t, _ in before})
        out = self.ctl("export", "--things", "-", stdin="# things\n%s\n\n%s\n" % tuple(things),
                       expect=EXIT_OK).stdout
        self.assertEqual(len(out.splitlines()), 4)

    def test_things_file(self):
        before = self.make_shadows()
        with open(self.path("things.txt"), "w") as f:
            f.write("\n".join(sorted({t for t, _ in before})) + "\n")
        out = self.ctl("export", "--things", self.path("things.txt"), expect=EXIT_OK).stdout
        self.assertEqual({(json.loads(l)["thing"], json.loads(l)["shadow"])
                          for l in out.splitlines()}, set(before))

    def test_import_merges_unless_replace(self):
        t = self.thing()
        self.ctl_json("update", t, "--desired", '{"a":1}')
        backup = self.ctl("export", t, expect=EXIT_OK).stdout
        with open(self.path("b.jsonl"), "w") as f:
            f.write(backup)
        self.ctl_json("update", t, "--desired", '{"extra":true}')

        self.ctl("import", self.path("b.jsonl"), expect=EXIT_OK)
        self.assertEqual(self.get(t)["state"]["desired"], {"a": 1, "extra": True})

        self.ctl("import", "--replace", self.path("b.jsonl"), expect=EXIT_OK)
        self.assertEqual(self.get(t)["state"]["desired"], {"a": 1})

    def test_import_reports_bad_lines_and_continues(self):
        t = self.thing()
        with open(self.path("mixed.jsonl"), "w") as f:
            f.write('{"thing":"%s","shadow":null,"state":{"reported":{"ok":1}}}\n' % t)
            f.write("not json\n")
            f.write('{"thing":"%s","shadow":"n","state":{"desired":{"ok":2}}}\n' % t)
            f.write("\n")
            f.write('{"shadow":null,"state":{}}\n')
        proc = self.ctl("import", self.path("mixed.jsonl"), expect=EXIT_USAGE)
        self.assertIn("mixed.jsonl:2:", proc.stderr)
        self.assertIn("mixed.jsonl:5:", proc.stderr)
        self.assertIn("imported 2 shadows, 2 failed", proc.stderr)
        self.assertEqual(self.get(t, "n")["state"]["desired"], {"ok": 2})

        summary = self.ctl_json("import", self.path("mixed.jsonl"), expect=EXIT_USAGE)
        self.assertEqual(summary, {"imported": 2, "failed": 2})

    def test_import_rejected_by_the_broker_exits_4(self):
        with open(self.path("bad.jsonl"), "w") as f:
            f.write('{"thing":"bad name","shadow":null,"state":{"desired":{"a":1}}}\n')
        proc = self.ctl("import", self.path("bad.jsonl"), expect=EXIT_REQUEST)
        self.assertIn("imported 0 shadows, 1 failed", proc.stderr)

    def test_an_empty_things_list_exports_nothing(self):
        self.make_shadows()
        proc = self.ctl("export", "--things", "-", stdin="# none\n", expect=EXIT_OK)
        self.assertEqual(proc.stdout, "")
        self.assertIn("exported 0 shadows of 0 things", proc.stderr)

    def test_import_of_a_missing_file_exits_1(self):
        proc = self.ctl("import", self.path("missing.jsonl"), expect=EXIT_USAGE)
        self.assertIn("cannot read", proc.stderr)


if __name__ == "__main__":
    unittest.main()
