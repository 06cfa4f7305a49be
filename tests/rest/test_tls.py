"""The REST API over TLS (plugin_opt_http_tls_cert / plugin_opt_http_tls_key)
with a self-signed certificate made by openssl for this test; boto3 verifies
the server against it."""

import shutil
import socket
import ssl
import tempfile
import unittest

from shadowtest.certs import self_signed
from shadowtest.mqtt import prefix
from shadowtest.rest import RestTestCase, payload_json, raw_request


class RestOverTls(RestTestCase):

    @classmethod
    def make_tls(cls):
        cls.tls_dir = tempfile.mkdtemp(prefix="shadow-rest-tls-")
        return self_signed(cls.tls_dir)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tls_dir, ignore_errors=True)

    def test_update_and_get_round_trip(self):
        self.assertTrue(self.broker.endpoint.startswith("https://"))
        watcher = self.client("watcher", prefix("tls1") + "/update/accepted")
        accepted = self.rest_update("tls1", {"state": {"reported": {"secure": True}}, "clientToken": "t1"})
        self.assertEqual(accepted["version"], 1)
        self.assertEqual(watcher.take_json(prefix("tls1") + "/update/accepted")["clientToken"], "t1")
        got = payload_json(self.iot.get_thing_shadow(thingName="tls1"))
        self.assertEqual((got["state"], got["version"]), ({"reported": {"secure": True}}, 1))

    def test_errors_over_tls(self):
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="tls-missing")
        r = raw_request(self.broker, "PUT", "/things/tls2/shadow", b"{}")
        self.assertEqual(r.status, 405, r)

    def test_plain_http_on_the_tls_port_gets_no_document(self):
        with socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10) as s:
            s.sendall(b"GET /things/tls1/shadow HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                data = b""
        self.assertNotIn(b"state", data)
        # And the TLS side is still fine afterwards.
        ctx = ssl.create_default_context(cafile=self.broker.tls[0])
        with socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                self.assertTrue(s.version().startswith("TLS"))


if __name__ == "__main__":
    unittest.main()
