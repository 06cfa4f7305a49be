"""shadowctl export without thing names: every shadow on the broker, listed
with GET /api/shadows (our extension), in pages; then delete everything,
import, and compare the documents. Each class has its own broker, so "every
shadow" is exactly what the class created."""

import http.server
import json
import os
import pty
import select
import subprocess
import tempfile
import threading
import time
import unittest

from ctl_case import (CtlTestCase, EXIT_NOT_FOUND, EXIT_OK, EXIT_REQUEST, RUN_TIMEOUT_S,
                      clean_env, shadowctl_path, state_of)


def shadow_args(thing, shadow):
    return [thing] + (["--shadow", shadow] if shadow else [])


class ExportEverySignedShadow(CtlTestCase):
    """Signed with the first key of the credentials file, as an operator would."""
    auth = "sigv4"

    def base_args(self):
        return ["--endpoint", self.broker.endpoint,
                "--credentials-file", self.broker.credentials_path]

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shadowctl-export-all-")

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def export_lines(self, *extra):
        path = os.path.join(self.tmp, "backup.jsonl")
        proc = self.ctl("export", "--file", path, *extra, expect=EXIT_OK)
        with open(path) as f:
            return proc, [json.loads(line) for line in f]

    def get_state(self, thing, shadow):
        return state_of(self.ctl_json("get", *shadow_args(thing, shadow)))

    def test_export_everything_delete_import_gives_the_same_documents(self):
        created = {
            ("dev-a", None): ("--desired", '{"lights":"on","n":{"x":[1,2]}}'),
            ("dev-a", "cfg"): ("--reported", '{"fw":"1.2","ok":true}'),
            ("dev-a", "ota"): ("--desired", '{"url":"http://x/y"}'),
            ("dev-b", "only-named"): ("--reported", '{"t":21.5}'),
            ("dev-c", None): ("--reported", '{"c":null,"d":[]}'),
            ("dev-c", "$x:1"): ("--desired", '{"e":"\\u00e9"}'),
            ("zz", None): ("--reported", '{"last":1}'),
        }
        for (thing, shadow), (section, doc) in created.items():
            self.ctl_json("update", *shadow_args(thing, shadow), section, doc)
        # Deleted shadows are not exported.
        self.ctl_json("update", "dev-b", "--reported", '{"gone":1}')
        self.ctl("delete", "dev-b", expect=EXIT_OK)
        self.ctl_json("update", "dev-gone", "--shadow", "s", "--reported", '{"gone":1}')
        self.ctl("delete", "dev-gone", "--shadow", "s", expect=EXIT_OK)
        before = {key: self.get_state(*key) for key in created}

        # Pages of two: the export follows nextToken across pages and things.
        proc, lines = self.export_lines("--page-size", "2")
        self.assertIn("exported 7 shadows of 4 things", proc.stderr)
        keys = [(l["thing"], l["shadow"]) for l in lines]
        # Key order: things by name, a thing's classic shadow first.
        self.assertEqual(keys, [("dev-a", None), ("dev-a", "cfg"), ("dev-a", "ota"),
                                ("dev-b", "only-named"), ("dev-c", None), ("dev-c", "$x:1"),
                                ("zz", None)])
        for line in lines:
            self.assertEqual(line["state"], before[(line["thing"], line["shadow"])])

        for thing, shadow in keys:
            self.ctl("delete", *shadow_args(thing, shadow), expect=EXIT_OK)
            self.ctl("get", *shadow_args(thing, shadow), expect=EXIT_NOT_FOUND)
        proc, empty = self.export_lines()
        self.assertEqual(empty, [])
        self.assertIn("exported 0 shadows of 0 things", proc.stderr)

        with open(os.path.join(self.tmp, "restore.jsonl"), "w") as f:
            f.write("".join(json.dumps(l) + "\n" for l in lines))
        proc = self.ctl("import", os.path.join(self.tmp, "restore.jsonl"), expect=EXIT_OK)
        self.assertIn("imported 7 shadows, 0 failed", proc.stderr)
        for key, state in before.items():
            self.assertEqual(self.get_state(*key), state, key)

        # A second backup matches the first but for the versions.
        _, again = self.export_lines("--page-size", "1000")
        strip = [{k: v for k, v in l.items() if k != "version"} for l in lines]
        self.assertEqual([{k: v for k, v in l.items() if k != "version"} for l in again], strip)

        # Names still filter.
        _, some = self.export_lines("dev-c")
        self.assertEqual([(l["thing"], l["shadow"]) for l in some],
                         [("dev-c", None), ("dev-c", "$x:1")])


class ExportProgress(CtlTestCase):

    def test_progress_on_a_terminal_and_summary(self):
        for i in range(3):
            self.ctl_json("update", "p%d" % i, "--reported", '{"i":%d}' % i)
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([shadowctl_path()] + self.base_args() + ["export"],
                                    stdout=subprocess.PIPE, stderr=slave, env=clean_env())
            os.close(slave)
            slave = None
            seen = b""
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:  # the child closed the terminal
                        break
                    if not chunk:
                        break
                    seen += chunk
                elif proc.poll() is not None:
                    break
            out, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0, seen)
        self.assertEqual(len(out.splitlines()), 3)
        text = seen.decode()
        self.assertIn("\r1 shadows p0", text)  # the counter, redrawn in place
        self.assertIn("exported 3 shadows of 3 things", text)


class NoListRoute(http.server.BaseHTTPRequestHandler):
    """A server without /api/shadows (AWS, or an older broker)."""

    def do_GET(self):
        body = b'{"message":"Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ExportFromAServerWithoutTheExtension(unittest.TestCase):

    def export(self, port, *args):
        return subprocess.run(
            [shadowctl_path(), "--endpoint", "http://127.0.0.1:%d" % port, "--no-auth",
             "export"] + list(args),
            capture_output=True, text=True, env=clean_env(), timeout=RUN_TIMEOUT_S)

    def test_says_to_name_the_things_and_keeps_the_old_backup(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), NoListRoute)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        tmp = tempfile.mkdtemp(prefix="shadowctl-export-all-")
        backup = os.path.join(tmp, "backup.jsonl")
        with open(backup, "w") as f:
            f.write('{"thing":"kept","shadow":null,"state":{}}\n')
        try:
            proc = self.export(server.server_port)
            to_file = self.export(server.server_port, "--file", backup)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            with open(backup) as f:
                kept = f.read()
            for name in os.listdir(tmp):
                os.unlink(os.path.join(tmp, name))
            os.rmdir(tmp)
        self.assertEqual(proc.returncode, EXIT_REQUEST, proc.stderr)
        self.assertIn("cannot list all shadows", proc.stderr)
        self.assertIn("shadowctl export THING", proc.stderr)
        self.assertEqual(proc.stdout, "")
        # An export that could not list the shadows never replaces a backup.
        self.assertEqual(to_file.returncode, EXIT_REQUEST, to_file.stderr)
        self.assertIn("left unchanged", to_file.stderr)
        self.assertEqual(kept, '{"thing":"kept","shadow":null,"state":{}}\n')


if __name__ == "__main__":
    unittest.main()
