"""shadowctl against an HTTPS REST listener (plugin_opt_http_tls_cert/_key)
with a self-signed certificate made by openssl for this test."""

import shutil
import tempfile
import unittest

from ctl_case import CtlTestCase, EXIT_CONNECTION, EXIT_OK
from shadowtest.certs import self_signed


class Https(CtlTestCase):

    @classmethod
    def make_tls(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="shadowctl-tls-")
        cls.cert, key = self_signed(cls.cert_dir)
        return cls.cert, key

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.cert_dir, ignore_errors=True)

    def test_ca_file_verifies_the_server(self):
        t = self.thing()
        self.assertTrue(self.broker.endpoint.startswith("https://"))
        self.ctl("--ca-file", self.cert, "update", t, "--desired", '{"a":1}', expect=EXIT_OK)
        doc = self.ctl_json("--ca-file", self.cert, "get", t)
        self.assertEqual(doc["state"]["desired"], {"a": 1})

    def test_untrusted_certificate_exits_6_and_names_ca_file(self):
        proc = self.ctl("get", self.thing(), expect=EXIT_CONNECTION)
        self.assertIn("--ca-file", proc.stderr)

    def test_plain_http_to_an_https_listener_suggests_https(self):
        endpoint = self.broker.endpoint.replace("https://", "http://")
        proc = self.ctl("--no-auth", "--endpoint", endpoint, "get", self.thing(),
                        endpoint=False, expect=EXIT_CONNECTION)
        self.assertIn("https://", proc.stderr)


if __name__ == "__main__":
    unittest.main()
