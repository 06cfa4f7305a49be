"""REST and MQTT share one store and one version counter:
REST-accepted updates are published on MQTT (accepted, delta, documents, in
both topic forms), REST deletes publish delete/accepted, REST errors publish
nothing, MQTT updates are visible to REST gets, and Publish reaches MQTT
subscribers or, on a shadow request topic, the shadow service (TV-39)."""

import json
import unittest

from shadowtest.mqtt import prefix
from shadowtest.rest import RestTestCase, raw_request

EVENTS = ("update/accepted", "update/delta", "update/documents")
GET_ANSWERS = ("get/accepted", "get/rejected")


def short_prefix(thing, shadow=None):
    return prefix(thing, shadow, "short")


def topics(thing, suffixes, shadow=None):
    return [p + "/" + s for p in (prefix(thing, shadow), short_prefix(thing, shadow)) for s in suffixes]


class RestToMqtt(RestTestCase):

    def test_rest_update_is_published_on_mqtt(self):
        watcher = self.client("watcher", *topics("ia1", EVENTS + GET_ANSWERS))
        body = self.iot.update_thing_shadow(
            thingName="ia1", payload=b'{"state":{"desired":{"color":"red"}},"clientToken":"r1"}')["payload"].read()
        accepted = json.loads(body)
        v, t = accepted["version"], accepted["timestamp"]
        self.assertEqual(v, 1)

        for p in (prefix("ia1"), short_prefix("ia1")):
            with self.subTest(prefix=p):
                # The MQTT accepted message is the HTTP body itself.
                self.assertEqual(watcher.take_one(p + "/update/accepted").payload, body)
                delta = watcher.take_json(p + "/update/delta")
                self.assertEqual(delta, {"version": v, "timestamp": t, "state": {"color": "red"},
                                         "metadata": {"color": {"timestamp": t}}, "clientToken": "r1"})
                docs = watcher.take_json(p + "/update/documents")
                self.assertIsNone(docs["previous"])
                self.assertEqual(docs["current"], {"state": {"desired": {"color": "red"}},
                                                   "metadata": {"desired": {"color": {"timestamp": t}}},
                                                   "version": v})
                self.assertEqual((docs["timestamp"], docs["clientToken"]), (t, "r1"))

        # Reported catches up: accepted and documents, no delta.
        second = self.rest_update("ia1", {"state": {"reported": {"color": "red"}}})
        for p in (prefix("ia1"), short_prefix("ia1")):
            self.assertEqual(watcher.take_json(p + "/update/accepted")["version"], 2)
            docs = watcher.take_json(p + "/update/documents")
            self.assertEqual((docs["previous"]["version"], docs["current"]["version"]), (1, 2))
            self.assertEqual(docs["timestamp"], second["timestamp"])
            self.assertEqual(docs["current"]["state"], {"desired": {"color": "red"}, "reported": {"color": "red"}})
        # The order of delta and documents is not promised: a get behind
        # them proves no delta is still on its way.
        watcher.barrier(prefix("ia1"))
        self.assertEqual(watcher.pending(topics("ia1", ["update/delta"])), [])

    def test_named_rest_update_uses_named_topics(self):
        watcher = self.client("watcher", *topics("ia2", EVENTS, "cfg"), *topics("ia2", EVENTS + GET_ANSWERS))
        accepted = self.rest_update("ia2", {"state": {"desired": {"n": 1}}}, shadow="cfg")
        for p in (prefix("ia2", "cfg"), short_prefix("ia2", "cfg")):
            self.assertEqual(watcher.take_json(p + "/update/accepted"), accepted)
            self.assertEqual(watcher.take_json(p + "/update/delta")["state"], {"n": 1})
            self.assertEqual(watcher.take_json(p + "/update/documents")["current"]["version"], 1)
        # Nothing on the classic shadow's topics: a get of it answered after
        # the named shadow's events comes first.
        self.assertEqual(watcher.barrier(prefix("ia2"))["code"], 404)
        self.assertEqual(watcher.pending(topics("ia2", EVENTS)), [])

    def test_rest_errors_publish_nothing(self):
        watcher = self.client("watcher", *topics("ia3", EVENTS + ("update/rejected",)))
        self.rest_update("ia3", {"state": {"desired": {"x": 1}}, "clientToken": "ok1"})
        watcher.take(topics("ia3", EVENTS), count=6)
        failing = [
            b'{"state":{"desired":{"x":2}},"version":7,"clientToken":"bad1"}',   # 409
            b'{"state":{"desired":{"x":2}},"clientToken":"bad2"',                 # 400
            b'{"state":{"reported":{"s":"\xff"}},"clientToken":"bad3"}',          # 415
        ]
        for payload in failing:
            with self.assertRaises(self.iot.exceptions.ClientError):
                self.iot.update_thing_shadow(thingName="ia3", payload=payload)
        # Events are published in order, so once this update's events are in,
        # anything the failures had caused would have arrived before them.
        self.rest_update("ia3", {"state": {"desired": {"x": 3}}, "clientToken": "ok2"})
        got = watcher.take(topics("ia3", EVENTS), count=6)
        self.assertEqual({m.json().get("clientToken") for m in got}, {"ok2"})
        self.assertEqual(watcher.pending(), [])

    def test_rest_delete_publishes_delete_accepted(self):
        self.rest_update("ia4", {"state": {"reported": {"x": 1}}})
        watcher = self.client("watcher", *topics("ia4", ["delete/accepted", "delete/rejected"]))
        body = self.iot.delete_thing_shadow(thingName="ia4")["payload"].read()
        for p in (prefix("ia4"), short_prefix("ia4")):
            self.assertEqual(watcher.take_one(p + "/delete/accepted").payload, body)
        self.assertEqual(json.loads(body)["version"], 1)
        # A REST delete of a missing shadow is an error: nothing on MQTT.
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.delete_thing_shadow(thingName="ia4")
        self.rest_update("ia4", {"state": {"reported": {"x": 2}}})
        self.iot.delete_thing_shadow(thingName="ia4")
        got = watcher.take(topics("ia4", ["delete/accepted"]), count=2)
        self.assertEqual({m.json()["version"] for m in got}, {3})
        self.assertEqual(watcher.pending(), [])

    def test_rest_get_publishes_nothing(self):
        self.rest_update("ia5", {"state": {"reported": {"x": 1}}})
        watcher = self.client("watcher", prefix("ia5") + "/#", short_prefix("ia5") + "/#")
        self.rest_get("ia5")
        self.rest_update("ia5", {"state": {"reported": {"x": 2}}, "clientToken": "after-get"})
        got = watcher.take(topics("ia5", ["update/accepted", "update/documents"]), count=4)
        self.assertEqual({m.json()["clientToken"] for m in got}, {"after-get"})
        self.assertEqual(watcher.pending(), [])


class MqttToRest(RestTestCase):

    def test_mqtt_update_is_seen_by_rest_get(self):
        p = prefix("mr1")
        accepted = self.update_accepted(p, {"state": {"reported": {"temp": 21}, "desired": {"temp": 22}}})
        got = self.rest_get("mr1")
        self.assertEqual(got["state"], {"desired": {"temp": 22}, "reported": {"temp": 21}, "delta": {"temp": 22}})
        self.assertEqual(got["version"], accepted["version"])
        self.assertEqual(got["metadata"]["reported"]["temp"]["timestamp"], accepted["timestamp"])

    def test_versions_are_shared(self):
        p = prefix("mr2", "cfg")
        self.update_accepted(p, {"state": {"reported": {"a": 1}}})
        self.assertEqual(self.rest_update("mr2", {"state": {"reported": {"a": 2}}, "version": 1},
                                          shadow="cfg")["version"], 2)
        self.assertEqual(self.update_accepted(p, {"state": {"reported": {"a": 3}}, "version": 2})["version"], 3)
        with self.assertRaises(self.iot.exceptions.ConflictException):
            self.rest_update("mr2", {"state": {"reported": {"a": 4}}, "version": 2}, shadow="cfg")
        self.assertEqual(self.rest_get("mr2", "cfg")["state"], {"reported": {"a": 3}})
        self.assertEqual(self.iot.list_named_shadows_for_thing(thingName="mr2")["results"], ["cfg"])

    def test_mqtt_delete_is_seen_by_rest(self):
        p = prefix("mr3")
        self.update_accepted(p, {"state": {"reported": {"a": 1}}})
        outcome, _ = self.request(p, "delete", b"")
        self.assertEqual(outcome, "accepted")
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="mr3")


class HttpPublish(RestTestCase):

    def test_publish_reaches_mqtt_subscribers(self):
        topic = "rest/pub/a b/ü"
        sub = self.client("sub", topic)
        payload = bytes(range(256))  # any bytes, not only UTF-8
        self.iot.publish(topic=topic, qos=1, payload=payload)
        m = sub.take_one(topic)
        self.assertEqual((m.payload, m.qos, m.retain), (payload, 1, False))
        self.iot.publish(topic=topic, qos=0, payload=b"q0")
        m = sub.take_one(topic)
        self.assertEqual((m.payload, m.qos), (b"q0", 0))
        self.iot.publish(topic=topic, payload=b"")
        self.assertEqual(sub.take_one(topic).payload, b"")

    def test_publish_with_literal_slashes(self):
        # Some callers do not percent-encode the topic: accept both.
        sub = self.client("sub", "rest/pub/literal")
        r = raw_request(self.broker, "POST", "/topics/rest/pub/literal?qos=1", b"lit")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sub.take_one("rest/pub/literal").payload, b"lit")

    def test_retained_publish(self):
        topic = "rest/pub/retained"
        self.iot.publish(topic=topic, qos=1, retain=True, payload=b"keep")
        late = self.client("late", topic)
        m = late.take_one(topic)
        self.assertEqual((m.payload, m.retain), (b"keep", True))

    def test_publish_to_shadow_update_topic_is_processed(self):
        p = prefix("hp1")
        watcher = self.client("watcher", p + "/update/accepted", p + "/update/rejected")
        r = self.iot.publish(topic=p + "/update", qos=1, payload=b'{"state":{"reported":{"v":7}},"clientToken":"h1"}')
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(watcher.take_json(p + "/update/accepted")["clientToken"], "h1")
        self.assertEqual(self.rest_get("hp1")["state"], {"reported": {"v": 7}})

    def test_tv39_publish_of_an_invalid_update_is_rejected_on_mqtt(self):
        p = prefix("dev1")
        watcher = self.client("watcher", p + "/update/accepted", p + "/update/rejected")
        r = self.iot.publish(topic="$aws/things/dev1/shadow/update", qos=1, payload=b"60")
        # HTTP 200 whatever the shadow outcome, as AWS answers.
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        rejected = watcher.take_json(p + "/update/rejected")
        self.assertEqual(rejected, {"code": 400, "message": "Missing required node: state"})
        self.assertEqual(watcher.pending(), [])

    def test_publish_to_shadow_get_topic_is_answered_on_mqtt(self):
        self.rest_update("hp2", {"state": {"desired": {"d": 1}}}, shadow="cfg")
        p = prefix("hp2", "cfg")
        watcher = self.client("watcher", p + "/get/accepted")
        self.iot.publish(topic=p + "/get", qos=0, payload=b'{"clientToken":"g1"}')
        got = watcher.take_json(p + "/get/accepted")
        self.assertEqual((got["clientToken"], got["state"]["desired"]), ("g1", {"d": 1}))


if __name__ == "__main__":
    unittest.main()
