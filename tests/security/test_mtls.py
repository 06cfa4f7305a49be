"""Mutual TLS: the thing comes from the client certificate's CN, whatever
client id or username the client sends; a client without a certificate
cannot connect. Certificates come from scripts/gen-certs.sh."""

import os
import shutil
import subprocess
import tempfile
import unittest

from sec_client import (PUBACK_NOT_AUTHORIZED, SUBACK_FAILURE, V5, V311, ConnectRefused, SecClient,
                        SecurityCase, prefix)

GEN_CERTS = os.environ.get("SHADOW_GEN_CERTS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "gen-certs.sh")


class MtlsCase(SecurityCase):
    LISTENER_EXTRA = []

    @classmethod
    def extra_lines(cls):
        cls.pki = tempfile.mkdtemp(prefix="shadow-sec-pki-")
        subprocess.run(["sh", GEN_CERTS, cls.pki, "dev1", "dev2", "app-console"], check=True,
                       capture_output=True, timeout=120)
        return ["cafile %s/ca.crt" % cls.pki,
                "certfile %s/server.crt" % cls.pki,
                "keyfile %s/server.key" % cls.pki,
                "require_certificate true"] + cls.LISTENER_EXTRA

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def tls(self, name=None):
        t = {"ca": os.path.join(self.pki, "ca.crt")}
        if name is not None:
            t["cert"] = os.path.join(self.pki, name + ".crt")
            t["key"] = os.path.join(self.pki, name + ".key")
        return t

    def check_identity_from_certificate(self):
        for protocol in (V311, V5):
            with self.subTest(protocol=protocol):
                # Claims to be dev2 by client id and username; the certificate says dev1.
                dev = self.connect("dev2", username="dev2", protocol=protocol, tls=self.tls("dev1"))
                self.assertEqual(dev.subscribe(prefix("dev1") + "/#", prefix("dev2") + "/#"),
                                 [1, SUBACK_FAILURE[protocol]])
                outcome, doc = self.request(dev, prefix("dev1"), "update",
                                            {"state": {"reported": {"tls": True}}})
                self.assertEqual(outcome, "accepted", doc)
                if protocol == V5:
                    self.assertEqual(dev.publish(prefix("dev2") + "/update",
                                                 {"state": {"reported": {"tls": True}}}),
                                     PUBACK_NOT_AUTHORIZED)
                dev.close()
        # The application certificate (CN app-console) is an admin.
        app = self.connect(tls=self.tls("app-console"))
        self.assertEqual(app.subscribe("$aws/things/+/shadow/#"), [1])
        outcome, doc = self.request(app, prefix("dev2"), "update", {"state": {"desired": {"x": 1}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assert_broker_alive()

    def test_client_without_certificate_cannot_connect(self):
        with self.assertRaises((ConnectRefused, OSError)):
            c = SecClient(self.broker.port, tls=self.tls(None))
            c.close()
        with self.assertRaises((ConnectRefused, OSError)):
            c = SecClient(self.broker.port)  # plain MQTT on the TLS port
            c.close()
        self.assert_broker_alive()


class CertCnTest(MtlsCase):
    OPTIONS = {"thing_identity": "cert_cn", "admin_pattern": "app-*", "acl_fallback": "allow"}

    def test_identity_is_the_certificate_cn(self):
        self.check_identity_from_certificate()


class IdentityAsUsernameTest(MtlsCase):
    LISTENER_EXTRA = ["use_identity_as_username true"]
    OPTIONS = {"thing_identity": "username", "admin_pattern": "app-*", "acl_fallback": "allow"}

    def test_identity_is_the_certificate_cn(self):
        self.check_identity_from_certificate()


if __name__ == "__main__":
    unittest.main()
