"""Shadow requests are ordinary MQTT messages: the plugin observes them and
does not swallow them, and a retained request is not kept as a
retained message."""

import unittest

from shadowtest.cases import BrokerTestCase
from shadowtest.mqtt import V5, prefix


class RequestsAreObserved(BrokerTestCase):

    def test_update_request_reaches_its_subscribers(self):
        p = prefix("dev1")
        listener = self.client("listener", p + "/update", p + "/update/accepted")
        payload = b'{"state":{"reported":{"lights":"on"}},"clientToken":"o1"}'
        self.client("device").publish(p + "/update", payload)
        self.assertEqual(listener.take_one(p + "/update").payload, payload)
        self.assertEqual(listener.take_json(p + "/update/accepted")["clientToken"], "o1")

    def test_get_and_delete_requests_reach_their_subscribers(self):
        for form in ("aws", "short"):
            p = prefix("obs-%s" % form, "cfg", form)
            self.update_accepted(p, {"state": {"desired": {"x": 1}}})
            listener = self.client("listener", p + "/get", p + "/delete",
                                   p + "/get/accepted", p + "/delete/accepted")
            device = self.client("device")
            device.publish(p + "/get", b'{"clientToken":"g"}')
            device.publish(p + "/delete", b"")
            self.assertEqual(listener.take_one(p + "/get").payload, b'{"clientToken":"g"}')
            self.assertEqual(listener.take_one(p + "/delete").payload, b"")
            self.assertEqual(listener.take_json(p + "/get/accepted")["clientToken"], "g")
            self.assertEqual(listener.take_json(p + "/delete/accepted")["version"], 1)

    def assertNothingRetained(self, topic):
        """A new subscriber of `topic` receives no retained message. Retained
        messages are queued when the subscription is made, so they arrive
        before a marker published after the SUBACK."""
        marker = "itest/marker/" + topic.replace("$", "")
        fresh = self.client("fresh", topic, marker)
        fresh.echo_barrier(marker)
        self.assertEqual(fresh.pending(topic), [])

    def test_retained_request_is_not_retained(self):
        p = prefix("ret1")
        listener = self.client("listener", p + "/update", p + "/update/accepted",
                               p + "/update/rejected")
        payload = b'{"state":{"reported":{"r":1}},"clientToken":"ret"}'
        self.client("device").publish(p + "/update", payload, retain=True)
        # Live subscribers still see the request, and it is answered.
        self.assertEqual(listener.take_one(p + "/update").payload, payload)
        listener.take_one([p + "/update/accepted", p + "/update/rejected"])
        self.assertNothingRetained(p + "/update")

    def test_retained_short_form_request_is_not_retained(self):
        p = prefix("ret2", None, "short")
        listener = self.client("listener", p + "/get/rejected")
        self.client("device").publish(p + "/get", b"", retain=True)
        listener.take_one(p + "/get/rejected")
        self.assertNothingRetained(p + "/get")

    def test_control_ordinary_retained_message_is_retained(self):
        # Shows that assertNothingRetained can see a retained message.
        topic = "itest/plain/retained"
        self.client("device").publish(topic, b"kept", retain=True)
        fresh = self.client("fresh", topic)
        m = fresh.take_one(topic)
        self.assertEqual((m.payload, m.retain), (b"kept", True))
        with self.assertRaises(AssertionError):
            self.assertNothingRetained(topic)

    def test_mqtt5_publisher_is_answered_and_stays_connected(self):
        p = prefix("v5dev")
        device = self.client("v5", p + "/update/accepted", p + "/get/accepted",
                             p + "/get/rejected", protocol=V5)
        for i in range(3):
            device.publish(p + "/update", {"state": {"reported": {"n": i}}, "clientToken": "v%d" % i})
            self.assertEqual(device.take_json(p + "/update/accepted")["version"], i + 1)
        self.assertFalse(device.disconnected)
        self.assertEqual(device.barrier(p)["version"], 3)

    def test_will_message_on_update_topic_is_delivered_not_applied(self):
        # Like AWS, a Last Will addressed to a shadow request topic reaches
        # subscribers but is not processed.
        p = prefix("will1")
        listener = self.client("listener", p + "/update", p + "/update/accepted",
                               p + "/update/rejected", p + "/get/accepted", p + "/get/rejected")
        will_payload = b'{"state":{"reported":{"online":false}}}'
        dying = self.client("dying", will=(p + "/update", will_payload))
        # Drop the TCP connection without DISCONNECT: the broker sends the will.
        dying.drop()
        self.assertEqual(listener.take_one(p + "/update").payload, will_payload)
        doc = listener.barrier(p)
        self.assertEqual(doc.get("code"), 404, doc)
        self.assertEqual(listener.pending([p + "/update/accepted", p + "/update/rejected"]), [])


if __name__ == "__main__":
    unittest.main()
