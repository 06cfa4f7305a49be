"""Mutual TLS: the thing comes from the client certificate's CN, whatever
client id or username the client sends; a client without a certificate
cannot connect. Certificates come from scripts/gen-certs.sh."""

import os
import unittest

from security_case import SecurityCase
from shadowtest.broker import Broker
from shadowtest.certs import client_tls, gen_certs
from shadowtest.mqtt import PUBACK_NOT_AUTHORIZED, SUBACK_FAILURE, V5, V311, ConnectRefused, prefix


class MtlsCase(SecurityCase):
    LISTENER_EXTRA = []

    @classmethod
    def make_broker(cls):
        broker = Broker(options=cls.broker_options)
        # In the broker's directory, removed with it.
        cls.pki = os.path.join(broker.dir, "pki")
        gen_certs(cls.pki, "dev1", "dev2", "app-console")
        broker.extra += ["cafile %s/ca.crt" % cls.pki,
                         "certfile %s/server.crt" % cls.pki,
                         "keyfile %s/server.key" % cls.pki,
                         "require_certificate true"] + cls.LISTENER_EXTRA
        return broker

    def tls(self, name=None):
        return client_tls(self.pki, name)

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
                # MQTT 3.1.1 has no PUBACK code: the broker drops the message.
                expected = PUBACK_NOT_AUTHORIZED if protocol == V5 else 0
                self.assertEqual(dev.publish(prefix("dev2") + "/update",
                                             {"state": {"reported": {"tls": True}}}), expected)
                dev.close()
        # The application certificate (CN app-console) is an admin.
        app = self.connect(tls=self.tls("app-console"))
        self.assertEqual(app.subscribe("$aws/things/+/shadow/#"), [1])
        outcome, doc = self.request(app, prefix("dev2"), "update", {"state": {"desired": {"x": 1}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assert_broker_alive()

    def test_client_without_certificate_cannot_connect(self):
        with self.assertRaises((ConnectRefused, OSError)):
            self.connect(tls=self.tls(None))
        with self.assertRaises((ConnectRefused, OSError)):
            self.connect()  # plain MQTT on the TLS port
        self.assert_broker_alive()


class CertCnTest(MtlsCase):
    broker_options = {"thing_identity": "cert_cn", "admin_pattern": "app-*", "acl_fallback": "allow"}

    def test_identity_is_the_certificate_cn(self):
        self.check_identity_from_certificate()


class IdentityAsUsernameTest(MtlsCase):
    LISTENER_EXTRA = ["use_identity_as_username true"]
    broker_options = {"thing_identity": "username", "admin_pattern": "app-*", "acl_fallback": "allow"}

    def test_identity_is_the_certificate_cn(self):
        self.check_identity_from_certificate()


if __name__ == "__main__":
    unittest.main()
