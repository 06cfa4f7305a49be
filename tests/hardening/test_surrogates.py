"""Escaped lone UTF-16 surrogates ("\\udc00") are refused at the door.

Such an escape is well-formed JSON syntax but names no character, so it has
no UTF-8 form. Stored, it came back as the bytes ED B0 80 in accepted, get
and REST answers, which no JSON reader accepts and which the broker itself
refuses when the document is written back. It must be refused like any
invalid JSON: 400 "Payload contains invalid json" over MQTT and REST, with
nothing stored."""

import json
import unittest

from shadowtest.mqtt import prefix
from shadowtest.rest import RestTestCase, raw_request

INVALID_JSON = "Payload contains invalid json"
LONE = ["x\\udc00y", "\\udfff", "\\ud800", "\\ud800\\ud800", "\\udc00\\ud83d"]


class LoneSurrogates(RestTestCase):
    def test_mqtt_update_is_rejected_and_nothing_stored(self):
        p = prefix("surrogate-mqtt")
        c = self.client("c", p + "/update/accepted", p + "/update/rejected",
                        p + "/get/accepted", p + "/get/rejected")
        self.assertEqual(c.request(p, "update", {"state": {"reported": {"ok": 1}}})[0], "accepted")
        for text in LONE:
            for payload in ('{"state":{"reported":{"s":"%s"}}}' % text,
                            '{"state":{"desired":{"%s":1}}}' % text):
                with self.subTest(payload=payload):
                    outcome, doc = c.request(p, "update", payload.encode())
                    self.assertEqual((outcome, doc["code"], doc["message"]), ("rejected", 400, INVALID_JSON))
        outcome, doc = c.request(p, "get", b"")
        self.assertEqual((outcome, doc["state"], doc["version"]), ("accepted", {"reported": {"ok": 1}}, 1))
        # A real pair is a character and round-trips as UTF-8.
        outcome, doc = c.request(p, "update", b'{"state":{"reported":{"e":"\\ud83d\\ude00"}}}')
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(doc["state"]["reported"]["e"], "\U0001F600")

    def test_rest_update_is_rejected_and_nothing_stored(self):
        for text in LONE:
            with self.subTest(text=text):
                body = ('{"state":{"reported":{"s":"%s"}}}' % text).encode()
                r = raw_request(self.broker, "POST", "/things/surrogate-rest/shadow", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json(), {"code": 400, "message": INVALID_JSON})
        r = raw_request(self.broker, "GET", "/things/surrogate-rest/shadow")
        self.assertEqual(r.status, 404, r)
        # What a client library sends for a Python string holding a lone
        # surrogate (json.dumps escapes it) is refused the same way.
        body = json.dumps({"state": {"reported": {"s": "x\udc00y"}}}).encode()
        r = raw_request(self.broker, "POST", "/things/surrogate-rest/shadow", body)
        self.assertEqual((r.status, r.json()["message"]), (400, INVALID_JSON))


if __name__ == "__main__":
    unittest.main()
