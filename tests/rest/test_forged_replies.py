"""A REST Publish cannot forge the service's replies and events: only the
shadow service publishes to /accepted, /rejected, /delta and /documents
topics (docs/security.md), over REST as over MQTT. Such a Publish gets 403
ForbiddenException, reaches no subscriber (now or later, retained or not)
and is counted as an ACL denial; a Publish to a request topic still works."""

import json
import re
import unittest

from shadowtest.mqtt import prefix
from shadowtest.rest import ClientError, RestTestCase, raw_request

FORGED = {"state": {"desired": {"unlock": True}}, "version": 99}


def acl_denied_publishes(broker):
    r = raw_request(broker, "GET", "/metrics")
    match = re.search(r'^shadow_acl_denied_total\{access="publish"\} (\d+)$', r.body.decode(), re.M)
    return int(match.group(1))


class ForgedReplies(RestTestCase):

    def reserved_topics(self, thing):
        aws, short = prefix(thing), prefix(thing, form="short")
        return [aws + "/update/delta", aws + "/update/accepted", aws + "/update/documents",
                aws + "/get/accepted", aws + "/delete/rejected", short + "/update/delta",
                prefix(thing, "room") + "/update/accepted"]

    def assert_forbidden(self, topic, retain):
        with self.assertRaises(ClientError) as ctx:
            self.iot.publish(topic=topic, qos=1, retain=retain, payload=json.dumps(FORGED).encode())
        err = self.assertClientError(ctx, "ForbiddenException", 403)
        self.assertIn("only the shadow service", err["Error"]["Message"])

    def test_reserved_topics_are_refused_and_reach_nobody(self):
        thing = "forge-b"
        topics = self.reserved_topics(thing)
        p = prefix(thing)
        victim = self.client("victim", *topics, p + "/get/accepted", p + "/get/rejected")
        denied_before = acl_denied_publishes(self.broker)

        for topic in topics:
            for retain in (False, True):
                with self.subTest(topic=topic, retain=retain):
                    self.assert_forbidden(topic, retain)
        self.assertEqual(acl_denied_publishes(self.broker), denied_before + 2 * len(topics))

        # The barrier's own reply comes after anything published before it.
        victim.barrier(p)
        self.assertEqual(victim.pending(topics), [])

        # Nothing was kept as retained for later subscribers either: the
        # broker sends retained messages right after the SUBACK, before the
        # barrier's reply.
        late = self.client("late", *topics, p + "/get/accepted", p + "/get/rejected")
        late.barrier(p)
        self.assertEqual(late.pending(topics), [])

    def test_request_topics_and_other_topics_still_publish(self):
        thing = "forge-ok"
        p = prefix(thing)
        lookalike = "plain/%s/update/accepted" % thing
        watcher = self.client("watcher", p + "/update/accepted", lookalike)
        self.iot.publish(topic=p + "/update", qos=1,
                         payload=json.dumps({"state": {"reported": {"ok": 1}}, "clientToken": "c1"}).encode())
        self.assertEqual(watcher.take_json(p + "/update/accepted")["clientToken"], "c1")
        # A topic that only looks like a reply, outside any shadow namespace.
        self.iot.publish(topic=lookalike, qos=1, payload=b"hello")
        self.assertEqual(watcher.take_one(lookalike).payload, b"hello")


if __name__ == "__main__":
    unittest.main()
