"""plugin_opt_rate_limit_per_thing: requests over the per-thing rate are
rejected with 429 before the service runs; other things are not affected.
MQTT and REST requests on a thing draw from the same bucket."""

import json
import os
import time
import unittest

from security_case import SecurityCase
from shadowtest.mqtt import V311, prefix, token_of
from shadowtest.rest import ClientError, RestBroker, make_client

RATE = 5
BURST_SENT = 20


class RateLimitCase(SecurityCase):
    broker_options = {"rate_limit_per_thing": str(RATE)}

    def get_after_refill(self, client, p):
        """The get/accepted document of `p`, asked for again while the get is
        throttled. No event announces the next token (one comes every 1/RATE
        s), so this polls, within a bound."""
        for _ in range(200):
            outcome, doc = self.request(client, p, "get")
            if outcome == "accepted":
                return doc
            self.assertEqual(doc["code"], 429, doc)
            time.sleep(0.1)
        self.fail("still throttled after 20 s: %r" % doc)


class RateLimitTest(RateLimitCase):

    def test_burst_gets_429s_and_only_accepted_updates_count(self):
        c = self.connect(protocol=V311)
        p = prefix("busy")
        c.subscribe(p + "/update/accepted", p + "/update/rejected")
        tokens = ["u%02d" % i for i in range(BURST_SENT)]
        # Sent back to back without waiting for replies: far faster than 5/s.
        for i, token in enumerate(tokens):
            c.publish(p + "/update", {"state": {"reported": {"n": i}}, "clientToken": token})
        replies = {}
        for token in tokens:
            m = c.take_one([p + "/update/accepted", p + "/update/rejected"],
                           match=lambda m, t=token: token_of(m) == t)
            replies[token] = (m.topic.rsplit("/", 1)[1], m.json())
        accepted = [t for t, (outcome, _) in replies.items() if outcome == "accepted"]
        throttled = [doc for outcome, doc in replies.values() if outcome == "rejected"]
        # The bucket starts full, so at least the first RATE pass.
        self.assertGreaterEqual(len(accepted), RATE)
        self.assertGreater(len(throttled), 0)
        for doc in throttled:
            self.assertEqual(doc["code"], 429, doc)
            self.assertEqual(doc["message"], "Too Many Requests")
            self.assertIn(doc["clientToken"], tokens)
        # Every accepted update was stored, no throttled one was: the version
        # counts the accepted updates (the first one created the shadow).
        c.subscribe(p + "/get/+")
        doc = self.get_after_refill(c, p)
        self.assertEqual(doc["version"], len(accepted))

    def test_other_things_are_not_affected(self):
        c = self.connect()
        hot, calm = prefix("hot"), prefix("calm", "cfg", "short")
        c.subscribe(hot + "/get/+", calm + "/get/+")
        for i in range(BURST_SENT):
            c.publish(hot + "/get", {"clientToken": "h%d" % i})
        outcome, doc = self.request(c, calm, "get")
        self.assertEqual((outcome, doc.get("code")), ("rejected", 404))  # served, not 429
        self.assert_broker_alive()


class RestRateLimitTest(RateLimitCase):
    """The same limit over REST: 429 ThrottlingException, nothing published."""

    @classmethod
    def make_broker(cls):
        return RestBroker(options=cls.broker_options)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Retries off (make_client): botocore would retry a 429 itself.
        cls.iot = make_client(cls.broker)

    def rest_call(self, kind, thing, token, n):
        """One REST update or Publish to the update topic; returns "ok" or
        "throttled" (any other error fails the test)."""
        body = json.dumps({"state": {"reported": {"n": n}}, "clientToken": token}).encode()
        try:
            if kind == "update":
                self.iot.update_thing_shadow(thingName=thing, payload=body)
            else:
                self.iot.publish(topic="$aws/things/%s/shadow/update" % thing, qos=1, payload=body)
            return "ok"
        except ClientError as e:
            err = e.response
            self.assertEqual(err["Error"]["Code"], "ThrottlingException", err)
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 429, err)
            self.assertEqual(err["Error"]["Message"], "Too Many Requests", err)
            return "throttled"

    def test_mqtt_and_rest_share_the_bucket(self):
        thing = "mixed-" + os.urandom(4).hex()
        p = "$aws/things/%s/shadow" % thing
        c = self.connect()
        c.subscribe(p + "/update", p + "/update/accepted", p + "/update/rejected", p + "/get/+")
        # MQTT first, back to back, then a REST burst far faster than 5/s.
        mqtt_tokens = ["m%02d" % i for i in range(RATE)]
        for i, token in enumerate(mqtt_tokens):
            c.publish(p + "/update", {"state": {"reported": {"n": i}}, "clientToken": token})
        rest = {}  # token -> (kind, outcome)
        for i in range(BURST_SENT):
            kind = "update" if i % 2 == 0 else "publish"
            token = "r%02d" % i
            rest[token] = (kind, self.rest_call(kind, thing, token, 100 + i))

        mqtt_accepted = 0
        for token in mqtt_tokens:
            m = c.take_one([p + "/update/accepted", p + "/update/rejected"],
                           match=lambda m, t=token: token_of(m) == t)
            mqtt_accepted += m.topic.endswith("/accepted")
        rest_ok = [t for t, (_, outcome) in rest.items() if outcome == "ok"]
        throttled = [t for t, (_, outcome) in rest.items() if outcome == "throttled"]
        self.assertGreater(len(throttled), 0, rest)
        # Every REST request that passed was applied and announced over MQTT.
        for token in rest_ok:
            c.take_one(p + "/update/accepted", match=lambda m, t=token: token_of(m) == t)
            if rest[token][0] == "publish":  # the request itself is forwarded too
                c.take_one(p + "/update", match=lambda m, t=token: token_of(m) == t)

        # Read the result over MQTT once a token is back: the broker sends
        # queued REST messages of this shadow before answering, so after it
        # every message the REST burst caused has arrived.
        doc = self.get_after_refill(c, p)
        self.assertEqual(doc["version"], mqtt_accepted + len(rest_ok))
        leaked = [m for m in c.pending() if token_of(m) in throttled]
        self.assertEqual(leaked, [])

    def rest_outcomes(self, call, thing):
        """Error codes of BURST_SENT back-to-back calls ("ok" for a success)."""
        outcomes = []
        for _ in range(BURST_SENT):
            try:
                call(thingName=thing)
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
        return outcomes

    def test_rest_get_and_delete_are_limited_per_thing(self):
        thing = "rest-" + os.urandom(4).hex()
        # The shadow does not exist: passed requests are 404s, the rest 429s.
        gets = self.rest_outcomes(self.iot.get_thing_shadow, thing)
        self.assertEqual(set(gets), {"ResourceNotFoundException", "ThrottlingException"}, gets)
        deletes = self.rest_outcomes(self.iot.delete_thing_shadow, thing)
        self.assertIn("ThrottlingException", deletes)
        self.assertLessEqual(set(deletes), {"ResourceNotFoundException", "ThrottlingException"})
        # Another thing still has its full bucket.
        with self.assertRaises(ClientError) as ctx:
            self.iot.get_thing_shadow(thingName="calm-" + os.urandom(4).hex())
        self.assertEqual(ctx.exception.response["Error"]["Code"], "ResourceNotFoundException")
        self.assert_broker_alive()


if __name__ == "__main__":
    unittest.main()
