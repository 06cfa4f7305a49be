"""The AWS CLI v2 (Debian's /usr/bin/aws) against the REST API, configured
only through the environment and --endpoint-url (docs/rest-api.md).
CLI v2 treats blob parameters as base64, hence --cli-binary-format
raw-in-base64-out; get/update/delete write the body to an outfile."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from shadowtest.rest import ACCESS_KEY, SECRET_KEY, RestTestCase

AWS_CLI = "/usr/bin/aws"
CLI_TIMEOUT_S = 60


class AwsCli(RestTestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(AWS_CLI, os.X_OK):
            raise AssertionError("%s is missing: install Debian's awscli (scripts/install-deps.sh)" % AWS_CLI)
        super().setUpClass()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shadow-rest-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def aws(self, *args, key=ACCESS_KEY, secret=SECRET_KEY):
        """Runs `aws iot-data ARGS --endpoint-url ...`; returns (rc, stdout, stderr)."""
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.tmp,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_PAGER": "",
        }
        p = subprocess.run([AWS_CLI, "iot-data", *args, "--endpoint-url", self.broker.endpoint],
                           env=env, capture_output=True, timeout=CLI_TIMEOUT_S)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def ok(self, *args, **kw):
        rc, out, err = self.aws(*args, **kw)
        self.assertEqual(rc, 0, "aws %s\nstdout: %s\nstderr: %s" % (" ".join(args), out, err))
        return out

    def outfile(self, name):
        return os.path.join(self.tmp, name)

    def read_json(self, path):
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))

    def test_shadow_lifecycle(self):
        self.ok("update-thing-shadow", "--thing-name", "cli1", "--cli-binary-format", "raw-in-base64-out",
                "--payload", '{"state":{"desired":{"mode":"eco"}},"clientToken":"cli"}', self.outfile("u.json"))
        accepted = self.read_json(self.outfile("u.json"))
        self.assertEqual((accepted["state"], accepted["version"], accepted["clientToken"]),
                         ({"desired": {"mode": "eco"}}, 1, "cli"))

        self.ok("update-thing-shadow", "--thing-name", "cli1", "--shadow-name", "cfg",
                "--cli-binary-format", "raw-in-base64-out",
                "--payload", '{"state":{"reported":{"fw":"1.2"}}}', self.outfile("n.json"))

        self.ok("get-thing-shadow", "--thing-name", "cli1", self.outfile("g.json"))
        got = self.read_json(self.outfile("g.json"))
        self.assertEqual(got["state"], {"desired": {"mode": "eco"}, "delta": {"mode": "eco"}})
        self.ok("get-thing-shadow", "--thing-name", "cli1", "--shadow-name", "cfg", self.outfile("gn.json"))
        self.assertEqual(self.read_json(self.outfile("gn.json"))["state"], {"reported": {"fw": "1.2"}})

        listed = json.loads(self.ok("list-named-shadows-for-thing", "--thing-name", "cli1"))
        self.assertEqual(listed["results"], ["cfg"])
        self.assertNotIn("nextToken", listed)

        self.ok("delete-thing-shadow", "--thing-name", "cli1", self.outfile("d.json"))
        self.assertEqual(self.read_json(self.outfile("d.json"))["version"], 1)

        rc, out, err = self.aws("get-thing-shadow", "--thing-name", "cli1", self.outfile("g2.json"))
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(ResourceNotFoundException)", err)
        self.assertIn("No shadow exists with name: 'cli1'", err)

    def test_list_pages_with_next_token(self):
        for n in ("b", "a", "c"):
            self.rest_update("cli2", {"state": {}}, shadow=n)
        # ListNamedShadowsForThing has no paginator in the service model, so
        # the CLI passes --page-size and --next-token through unchanged.
        first = json.loads(self.ok("list-named-shadows-for-thing", "--thing-name", "cli2", "--page-size", "2"))
        self.assertEqual(first["results"], ["a", "b"])
        second = json.loads(self.ok("list-named-shadows-for-thing", "--thing-name", "cli2", "--page-size", "2",
                                    "--next-token", first["nextToken"]))
        self.assertEqual(second["results"], ["c"])
        self.assertNotIn("nextToken", second)

    def test_publish(self):
        topic = "rest/cli/out"
        sub = self.client("sub", topic)
        self.ok("publish", "--topic", topic, "--qos", "1", "--cli-binary-format", "raw-in-base64-out",
                "--payload", "from the cli")
        self.assertEqual(sub.take_one(topic).payload, b"from the cli")

    def test_errors_show_the_typed_name_and_exit_254(self):
        self.rest_update("cli3", {"state": {"reported": {"a": 1}}})
        rc, out, err = self.aws("update-thing-shadow", "--thing-name", "cli3",
                                "--cli-binary-format", "raw-in-base64-out",
                                "--payload", '{"state":{"reported":{"a":2}},"version":5}', self.outfile("c.json"))
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(ConflictException)", err)
        self.assertIn("Version conflict", err)

        rc, out, err = self.aws("get-thing-shadow", "--thing-name", "cli3", self.outfile("f.json"),
                                secret=SECRET_KEY + "wrong")
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(ForbiddenException)", err)


if __name__ == "__main__":
    unittest.main()
