"""Without thing binding: nobody but the plugin publishes response or event
topics (no spoofed deltas), while requests and ordinary topics work as
before for every client, with no acl_file and no ACL callback."""

import unittest
import uuid

from security_case import SecurityCase
from shadowtest.mqtt import PUBACK_NOT_AUTHORIZED, V5, V311, prefix, token_of

RESERVED = ("get/accepted", "get/rejected", "update/accepted", "update/rejected", "update/delta",
            "update/documents", "delete/accepted", "delete/rejected")


class SpoofingWithoutBindingTest(SecurityCase):
    broker_options = {}  # thing_identity none: no ACL callback at all

    def test_reply_and_event_topics_cannot_be_published(self):
        obs = self.connect()
        self.assertEqual(obs.subscribe("$aws/things/+/shadow/#", "+/shadow/#"), [1, 1])
        for protocol in (V311, V5):
            spoofer = self.connect(protocol=protocol)
            expected = PUBACK_NOT_AUTHORIZED if protocol == V5 else 0
            for form in ("aws", "short"):
                for shadow in (None, "cfg"):
                    for suffix in RESERVED:
                        topic = prefix("thing1", shadow, form) + "/" + suffix
                        with self.subTest(protocol=protocol, topic=topic):
                            self.assertEqual(spoofer.publish(topic, {"clientToken": "spoof"}),
                                             expected)
            # Retained spoofs are not stored either.
            spoofer.publish(prefix("thing1") + "/update/delta", {"clientToken": "spoof"},
                            retain=True)
            spoofer.close()
        # A real request comes back after everything the spoofers sent.
        outcome, doc = self.request(obs, prefix("thing1"), "update",
                                    {"state": {"desired": {"on": True}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual([m for m in obs.pending() if token_of(m) == "spoof"], [])
        # A retained message would reach a new subscriber right after its SUBACK,
        # so before the barrier message it publishes to itself.
        late = self.connect()
        late.subscribe(prefix("thing1") + "/update/delta", "barrier/#")
        late.echo_barrier("barrier/late")
        self.assertEqual([m for m in late.pending() if token_of(m) == "spoof"], [])
        self.assert_broker_alive()

    def test_anyone_may_use_any_shadow_and_ordinary_topics(self):
        a = self.connect("dev1", protocol=V5)
        a.subscribe(prefix("dev2") + "/#", "plain/#")
        outcome, doc = self.request(a, prefix("dev2"), "update", {"state": {"reported": {"x": 1}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(a.publish("plain/topic", b"hello"), 0)
        self.assertEqual(a.take_one("plain/topic").payload, b"hello")


class WillWithAclCallbackTest(SecurityCase):
    # acl_fallback given: the ACL callback is registered without binding, so
    # a Will message on an event topic is refused too.
    broker_options = {"acl_fallback": "allow"}

    def test_will_on_event_topic_is_not_published(self):
        # Mosquitto 2.0.11 checks a Will's topic when it sends the Will, not
        # at CONNECT; the plugin's ACL callback then refuses it.
        obs = self.connect()
        obs.subscribe(prefix("thing1") + "/update/delta", "barrier/#")
        for protocol in (V311, V5):
            with self.subTest(protocol=protocol):
                log_offset = self.broker.log_size()
                client_id = "will-%d-%s" % (protocol, uuid.uuid4().hex[:6])
                c = self.connect(client_id, protocol=protocol,
                                 will=(prefix("thing1") + "/update/delta", '{"clientToken":"spoof"}'))
                c.drop()  # no DISCONNECT: the Will is due
                # The refusal shows only in the broker's log.
                wanted = "denied publish to '%s' for client '%s'" % (
                    prefix("thing1") + "/update/delta", client_id)
                self.assertTrue(self.broker.wait_for_log(wanted, since=log_offset),
                                self.broker.log(since=log_offset))
                # Had the Will been published, it would have come before this.
                obs.echo_barrier("barrier/will")
                self.assertEqual([m for m in obs.pending() if token_of(m) == "spoof"], [])
        # Ordinary clients and topics still work with acl_fallback allow.
        ok = self.connect()
        ok.subscribe("plain/#")
        ok.publish("plain/x", b"1")
        self.assertEqual(ok.take_one("plain/x").payload, b"1")


if __name__ == "__main__":
    unittest.main()
