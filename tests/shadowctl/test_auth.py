"""shadowctl against a broker that checks SigV4 signatures
(plugin_opt_http_auth sigv4 with a credentials file)."""

import os
import tempfile
import unittest

from ctl_case import CtlTestCase, EXIT_OK, EXIT_REQUEST, EXIT_USAGE, clean_env
from shadowtest.rest import ACCESS_KEY, SECRET_KEY
from shadowtest.rest import ACCESS_KEY_2 as OTHER_KEY, SECRET_KEY_2 as OTHER_SECRET


class SigV4(CtlTestCase):
    auth = "sigv4"

    def test_credentials_file_first_key_and_named_key(self):
        t = self.thing()
        creds = self.broker.credentials_path
        self.ctl("--credentials-file", creds, "update", t, "--shadow", "$x:y",
                 "--desired", '{"a":1}', expect=EXIT_OK)
        self.ctl("--credentials-file", creds, "--access-key", OTHER_KEY, "get", t,
                 "--shadow", "$x:y", expect=EXIT_OK)
        proc = self.ctl("--credentials-file", creds, "--json", "list", t, "--page-size", "1",
                        expect=EXIT_OK)
        self.assertIn('"$x:y"', proc.stdout)

    def test_keys_from_options_and_environment(self):
        t = self.thing()
        self.ctl("--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                 "update", t, "--reported", '{"a":1}', expect=EXIT_OK)
        env = clean_env(AWS_ACCESS_KEY_ID=OTHER_KEY, AWS_SECRET_ACCESS_KEY=OTHER_SECRET,
                        AWS_REGION="eu-west-3")
        self.ctl("get", t, env=env, expect=EXIT_OK)
        self.ctl("delete", t, env=env, expect=EXIT_OK)

    def test_wrong_secret_exits_4_with_the_auth_error(self):
        proc = self.ctl("--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY + "x",
                        "get", self.thing(), expect=EXIT_REQUEST)
        self.assertIn("403", proc.stderr)
        self.assertIn("ForbiddenException", proc.stderr)
        self.assertIn("plugin_opt_http_credentials_file", proc.stderr)  # the hint

    def test_unsigned_request_exits_4_and_says_how_to_sign(self):
        proc = self.ctl("get", self.thing(), expect=EXIT_REQUEST)
        self.assertIn("ForbiddenException", proc.stderr)
        self.assertIn("--credentials-file", proc.stderr)
        self.ctl("--no-auth", "get", self.thing(), expect=EXIT_REQUEST)

    def test_unknown_key_in_the_server_file_exits_4(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("AKIDNOTONSERVER0001 whatever\n")
        self.addCleanup(os.unlink, f.name)
        self.ctl("--credentials-file", f.name, "get", self.thing(), expect=EXIT_REQUEST)

    def test_key_missing_from_the_file_or_half_a_key_exits_1(self):
        proc = self.ctl("--credentials-file", self.broker.credentials_path,
                        "--access-key", "AKIDNOPE", "get", "t", expect=EXIT_USAGE)
        self.assertIn("AKIDNOPE", proc.stderr)
        self.ctl("--access-key", ACCESS_KEY, "get", "t", expect=EXIT_USAGE)
        self.ctl("--no-auth", "--access-key", ACCESS_KEY, "get", "t", expect=EXIT_USAGE)
        self.ctl("--credentials-file", "/nonexistent/creds", "get", "t", expect=EXIT_USAGE)

    def test_export_and_import_are_signed_too(self):
        t = self.thing()
        creds = ["--credentials-file", self.broker.credentials_path]
        self.ctl(*creds, "update", t, "--shadow", "s", "--reported", '{"v":1}', expect=EXIT_OK)
        backup = self.ctl(*creds, "export", t, expect=EXIT_OK).stdout
        self.ctl(*creds, "delete", t, "--shadow", "s", expect=EXIT_OK)
        proc = self.ctl(*creds, "import", "-", stdin=backup, expect=EXIT_OK)
        self.assertIn("imported 1 shadows, 0 failed", proc.stderr)


if __name__ == "__main__":
    unittest.main()
