"""Base test cases: MQTT clients closed after each test, shadow request
helpers and assertions, and one broker per test class."""

import sys
import time
import unittest

from shadowtest.broker import Broker
from shadowtest.mqtt import Client, new_token, token_of


def answer_topics(p, op):
    return [p + "/%s/accepted" % op, p + "/%s/rejected" % op]


class BrokerLogOnFailure:
    """Mixed into a TestCase whose broker is `self.broker`: when a test
    fails, the end of the broker's log goes to stderr with the failure."""

    def run(self, result=None):
        def problems():
            return len(result.failures) + len(result.errors) if result is not None else 0

        before = problems()
        outcome = super().run(result)
        broker = getattr(self, "broker", None)
        if problems() > before and broker is not None:
            sys.stderr.write("\n--- broker log at the failure of %s ---\n%s\n"
                             % (self.id(), broker.log()[-4000:]))
        return outcome


class ShadowTestCase(BrokerLogOnFailure, unittest.TestCase):
    """Helpers for tests that talk to `self.broker` (set by the subclass)."""

    def client(self, name, *topics, **kwargs):
        """A client of self.broker, closed after the test, subscribed to
        `topics`. kwargs go to Client (protocol, username, tls, ...)."""
        c = Client(self.broker.port, name, **kwargs)
        self.addCleanup(c.close)
        if topics:
            c.subscribe(*topics)
        return c

    def wait_until_answers_reach(self, watch, sender, prefixes, timeout=30):
        """Returns once `watch` receives the answers to gets that `sender`
        publishes on each of `prefixes` (watch must be subscribed to their
        get answers, directly or through a wildcard).

        In cluster mode the two clients may be on different brokers, and the
        watcher's broker receives the other's answers only once Redis has
        confirmed the event subscription that watch's SUBSCRIBE caused. The
        SUBACK waits for that at most 200 ms; a wildcard subscription means
        16,384 channels, which a slow machine (sanitizer builds) may not
        confirm in time, and answers published before then are lost for that
        broker. Each attempt has its own clientToken and waits long enough
        that an attempt's answer does not turn up later among the test's."""
        deadline = time.monotonic() + timeout
        for p in prefixes:
            while True:
                token = new_token("ready")
                sender.publish(p + "/get", {"clientToken": token})
                try:
                    watch.take_one(answer_topics(p, "get"), timeout=5,
                                   match=lambda m, token=token: token_of(m) == token)
                    break
                except AssertionError:
                    if time.monotonic() > deadline:
                        raise

    # --- request helpers (a fresh client per call keeps tests independent) ---
    def request(self, p, op, payload):
        """Publishes `payload` as it is on <p>/<op> from a fresh client and
        returns (outcome, document), outcome 'accepted' or 'rejected'."""
        # Closed right away: a client left open across a broker restart
        # spends up to a second in paho's reconnect wait when closed.
        client = Client(self.broker.port, "req")
        try:
            client.subscribe(*answer_topics(p, op))
            return client.request(p, op, payload)
        finally:
            client.close()

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

    def assert_broker_alive(self):
        self.assertTrue(self.broker.alive(), self.broker.log()[-3000:])


class BrokerTestCase(ShadowTestCase):
    """One broker for the whole test class, with the plugin options
    `broker_options` and the mosquitto.conf lines `broker_extra`."""
    broker_options = {}
    broker_extra = []

    @classmethod
    def make_broker(cls):
        return Broker(options=cls.broker_options, extra=cls.broker_extra)

    @classmethod
    def setUpClass(cls):
        cls.broker = cls.make_broker()
        try:
            cls.broker.start()
        except BaseException:
            cls.broker.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()
