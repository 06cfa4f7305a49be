"""Base test case: one broker per test class, MQTT clients that are closed
after each test, and a few shadow-specific request helpers."""

import sys
import time
import unittest

from broker import Broker
from mqtt_client import Client, prefix  # noqa: F401  (re-exported for tests)


def rejected_or_accepted(p, op):
    return [p + "/%s/accepted" % op, p + "/%s/rejected" % op]


def report_unexpected_exit(broker):
    """An unexpected broker exit is the most useful thing to see in a failure."""
    if broker.proc is not None and not broker.alive():
        sys.stderr.write("\n--- broker log (process exited with %r) ---\n%s\n"
                         % (broker.proc.returncode, broker.log()[-6000:]))


class ShadowTestCase(unittest.TestCase):
    """Helpers for tests that talk to `self.broker` (set by the subclass)."""

    def client(self, name, *topics, protocol=None):
        c = Client(self.broker, name) if protocol is None else Client(self.broker, name, protocol)
        self.addCleanup(c.close)
        if topics:
            c.subscribe(*topics)
        return c

    # --- request helpers (a fresh client per call keeps tests independent) ---
    def request(self, p, op, payload, client=None):
        """Publish `payload` on <p>/<op> and return (outcome, document) where
        outcome is 'accepted' or 'rejected'. The request must carry a unique
        clientToken unless no other request on this prefix is in flight."""
        if client is None:
            # Closed right away: a client left open across a broker restart
            # spends up to a second in paho's reconnect wait when closed.
            client = Client(self.broker, "req")
            try:
                client.subscribe(*rejected_or_accepted(p, op))
                return self.request(p, op, payload, client)
            finally:
                client.close()
        client.publish(p + "/" + op, payload)
        m = client.take_one(rejected_or_accepted(p, op))
        return m.topic.rsplit("/", 1)[1], m.json()

    def get_shadow(self, p):
        """(outcome, document) of a get with an empty payload."""
        return self.request(p, "get", b"")

    def get_accepted(self, p):
        outcome, doc = self.get_shadow(p)
        self.assertEqual(outcome, "accepted", doc)
        return doc

    def update_accepted(self, p, payload):
        outcome, doc = self.request(p, "update", payload)
        self.assertEqual(outcome, "accepted", doc)
        return doc

    # --- assertions ---------------------------------------------------------
    def assertTimestamp(self, value):
        """Epoch seconds as a JSON integer (10 digits today, not ms)."""
        self.assertIs(type(value), int, value)
        self.assertLess(abs(value - time.time()), 24 * 3600, "not epoch seconds: %r" % value)

    def assertStored(self, doc, expected):
        """`doc` (get/accepted) holds exactly the expected stored document:
        state, metadata and version; the get timestamp is ignored."""
        self.assertEqual({k: doc.get(k) for k in ("state", "metadata", "version")},
                         {k: expected.get(k) for k in ("state", "metadata", "version")})


class BrokerTestCase(ShadowTestCase):
    """One broker for the whole test class."""
    broker_options = {}
    broker_extra = []

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(options=cls.broker_options, extra=cls.broker_extra).start()

    @classmethod
    def tearDownClass(cls):
        report_unexpected_exit(cls.broker)
        cls.broker.cleanup()
