"""The catch-up delta (plugin_opt_delta_on_subscribe): a client that
subscribes to a shadow's update/delta gets the current delta, after its
SUBACK, once per subscription, only when there is a delta, and only when it
may read it."""

import unittest

from shadowtest.cases import BrokerTestCase
from presence_case import PresenceCase, unique
from shadowtest.mqtt import SUBACK_FAILURE, Client, prefix

OPTIONS = {"delta_on_subscribe": "true", "thing_identity": "client_id", "admin_pattern": "app-*",
           "acl_fallback": "allow", "connect_detection": "activity"}


class CatchUp(PresenceCase, BrokerTestCase):
    broker_options = OPTIONS

    def app(self):
        return self.client("app", "$aws/things/+/shadow/update/+", "$aws/things/+/shadow/name/+/update/+",
                           username="app-console")

    def set_desired(self, thing, desired, reported=None):
        state = {"desired": desired}
        if reported is not None:
            state["reported"] = reported
        outcome, doc = self.app().request(prefix(thing), "update", {"state": state})
        self.assertEqual(outcome, "accepted", doc)
        return doc["version"]

    def device(self, thing):
        d = Client(self.broker.port, client_id=thing)
        self.addCleanup(d.close)
        d.subscribe(prefix(thing) + "/get/accepted", prefix(thing) + "/get/rejected")
        return d

    def test_delta_after_the_suback_once_per_subscription(self):
        thing = unique("dev")
        version = self.set_desired(thing, {"mode": "eco", "fan": 2}, reported={"fan": 2})
        d = self.device(thing)  # was offline while the desired state changed
        topic = prefix(thing) + "/update/delta"
        self.assertEqual(d.subscribe(topic), [1])
        suback = d.suback_arrival()
        m = d.take_one(topic)
        self.assertGreater(m.arrival, suback)
        self.assertEqual(m.json()["state"], {"mode": "eco"})
        self.assertEqual(m.json()["version"], version)
        self.assertNotIn("clientToken", m.json())
        d.barrier(prefix(thing))
        self.assertEqual(d.pending(topic), [])
        # Each subscription gets its own.
        d.subscribe(topic)
        d.take_one(topic)
        d.barrier(prefix(thing))
        self.assertEqual(d.pending(topic), [])

    def test_short_form_and_named_shadows(self):
        thing = unique("dev")
        outcome, _ = self.app().request(prefix(thing, "cfg"), "update", {"state": {"desired": {"x": 1}}})
        self.assertEqual(outcome, "accepted")
        d = self.device(thing)
        topic = prefix(thing, "cfg", form="short") + "/update/delta"
        d.subscribe(topic)
        self.assertEqual(d.take_one(topic).json()["state"], {"x": 1})

    def test_nothing_without_a_delta(self):
        thing = unique("dev")
        self.set_desired(thing, {"a": 1}, reported={"a": 1})
        d = self.device(thing)
        d.subscribe(prefix(thing) + "/update/delta", prefix(unique("ghost")) + "/update/delta")
        d.barrier(prefix(thing))
        self.assertEqual(d.pending(), [])

    def test_nothing_for_a_client_that_may_not_read_it(self):
        thing = unique("dev")
        self.set_desired(thing, {"secret": 1})
        intruder_id = unique("dev")
        intruder = self.device(intruder_id)
        self.assertEqual(intruder.subscribe(prefix(thing) + "/update/delta"), [SUBACK_FAILURE[intruder.protocol]])
        intruder.barrier(prefix(intruder_id))
        self.assertEqual(intruder.pending(), [])


if __name__ == "__main__":
    unittest.main()
