"""1000 malformed publishes on the update/get/delete topics of a few things
with existing shadows. The broker must keep serving and answer every request,
and the stored shadows must stay exactly as they were.

Update payloads are all invalid by construction (so each must be rejected).
Get and delete ignore payloads they cannot use, so those requests are valid:
gets are answered with the document, deletes target things without a shadow
and are answered 404 (one deliberate delete of a separate shadow checks that a
garbage delete payload is ignored)."""

import collections
import json
import random
import unittest

from shadowtest.cases import BrokerTestCase
from shadowtest.mqtt import prefix

MAX_PAYLOAD = 16384
BATCH = 50
TOTAL = 1000
SEED = 20240611

EXISTING = [prefix("mal0"), prefix("mal1"), prefix("mal2"), prefix("mal0", "cfg")]
MISSING = [prefix("maldel0"), prefix("maldel1", "cfg")]


def short_form(p):
    return p[len("$aws/things/"):]


def could_be_valid_update(payload):
    """Conservative oracle: anything that parses as a JSON object with a
    'state' key might be a valid update and is not used."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and "state" in doc


class Generator:
    """Malformed payloads; each update payload comes with the error codes it
    may legitimately produce."""

    def __init__(self, rng):
        self.rng = rng

    def random_bytes(self):
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(0, 200))), {400, 415}

    def truncated(self):
        doc = json.dumps({"state": {"reported": {"a": self.rng.randrange(1000), "b": [1, 2, {"c": "x"}]},
                                    "desired": {"s": "text"}}, "clientToken": "t"}).encode()
        return doc[:self.rng.randrange(len(doc))], {400}

    def huge(self):
        body = json.dumps({"state": {"reported": {"blob": "h" * (MAX_PAYLOAD + self.rng.randrange(1, 5000))}}})
        return body.encode(), {413}

    def deep(self):
        depth = self.rng.choice([7, 50, 1000])
        kind = self.rng.choice(["object", "array", "outside"])
        if kind == "object":
            inner = '{"a":' * depth + "1" + "}" * depth
            return ('{"state":{"reported":%s}}' % inner).encode(), {400}
        if kind == "array":
            inner = "[" * depth + "1" + "]" * depth
            return ('{"state":{"desired":{"a":%s}}}' % inner).encode(), {400}
        # Deep nesting outside "state" with a "state" of the wrong type.
        inner = '{"x":' * depth + "1" + "}" * depth
        return ('{"junk":%s,"state":7}' % inner).encode(), {400}

    def very_deep(self):
        # Unbalanced brackets up to the payload cap: a recursive parser's stack test.
        return b'{"state":{"reported":{"a":' + b"[" * (MAX_PAYLOAD - 100), {400}

    def bad_utf8(self):
        bad = self.rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80"])
        where = self.rng.choice(["value", "key", "token"])
        if where == "value":
            return b'{"state":{"reported":{"s":"' + bad + b'"}}}', {415}
        if where == "key":
            return b'{"state":{"desired":{"' + bad + b'":1}}}', {415}
        return b'{"state":{"reported":{"a":1}},"clientToken":"' + bad + b'"}', {415}

    def nul(self):
        return self.rng.choice([
            b'{"state":{"reported":{"a":"x\x00y"}}}',         # raw NUL inside a string
            b'{"state":{"reported":{"a":1}}}\x00',            # trailing NUL after a document
            b'{"state":{"reported":{"a":1}}}\x00garbage',
            b'\x00{"state":{"reported":{"a":1}}}',
            b'{"state":{"desired":{"k\x00":1}}}',
            b'{"state":\x00{"reported":{"a":1}}}',
        ]), {400}

    def huge_number(self):
        return self.rng.choice([
            b'{"state":{"reported":{"n":1e400}}}',
            b'{"state":{"desired":{"n":-1e400}}}',
            b'{"state":{"reported":{"n":[1,2,1e999]}}}',
        ]), {400}

    def duplicate_keys(self):
        # Every occurrence is invalid, whichever one the parser keeps.
        return self.rng.choice([
            b'{"state":"x","state":7}',
            b'{"state":{"desired":"x","desired":[1]}}',
            b'{"state":{"reported":{"a":1}},"version":-1,"version":"v"}',
            b'{"state":{"delta":{},"delta":{"a":1}}}',
            b'{"state":{"reported":{"a":[null]},"reported":{"b":[null]}}}',
        ]), {400}

    def semantic(self):
        return self.rng.choice([
            b'{"state":{"reported":{"a":[null]}}}',
            b'{"state":{"foo":{}}}',
            b'{"state":{"desired":{"a":1}},"version":999999}',
            b'{"state":{"desired":{"a":1}},"version":1.5}',
            b'{"state":[]}',
            b'{"state":{"desired":1}}',
            b'{"state":{"desired":{}},"clientToken":' + json.dumps("k" * 65).encode() + b"}",
            b"[]", b"null", b"true", b'"state"', b"1e400", b"{}",
        ]), {400, 409}

    def update_payload(self):
        kinds = [self.random_bytes, self.truncated, self.huge, self.deep, self.bad_utf8,
                 self.nul, self.huge_number, self.duplicate_keys, self.semantic, self.very_deep]
        while True:
            kind = self.rng.choice(kinds)
            payload, codes = kind()
            # The other kinds are invalid by construction; random ones are checked.
            if kind not in (self.random_bytes, self.truncated) or not could_be_valid_update(payload):
                return payload, codes

    def ignored_payload(self):
        """For get/delete: anything, the request stays valid."""
        kinds = [self.random_bytes, self.truncated, self.deep, self.bad_utf8, self.nul,
                 self.huge_number, self.duplicate_keys, self.semantic, self.very_deep]
        return self.rng.choice(kinds)()[0]


class MalformedPublishes(BrokerTestCase):
    broker_options = {"max_payload_bytes": MAX_PAYLOAD}
    # Responses to a burst must not be dropped by the broker's per-client queue.
    broker_extra = ["max_queued_messages 100000"]

    def test_broker_survives_and_shadows_are_unchanged(self):
        for i, p in enumerate(EXISTING):
            self.update_accepted(p, {"state": {"desired": {"i": i, "list": [1, "two", {"three": 3}]},
                                               "reported": {"i": 0, "nested": {"x": {"y": True}}}}})
        victim = prefix("malvictim")
        self.update_accepted(victim, {"state": {"reported": {"v": 1}}})
        before = {p: self.get_accepted(p) for p in EXISTING}

        watch = self.client("watch")
        for form in ("$aws/things/+/shadow/", "$aws/things/+/shadow/name/+/",
                     "+/shadow/", "+/shadow/name/+/"):
            watch.subscribe(*[form + op + "/+" for op in ("update", "get", "delete")])
        sender = self.client("sender")
        # In cluster mode sender and watch are on different brokers.
        self.wait_until_answers_reach(watch, sender, [q for p in EXISTING + MISSING for q in (p, short_form(p))])

        rng = random.Random(SEED)
        gen = Generator(rng)
        sent = 0
        while sent < TOTAL:
            # Requests of this batch per (prefix, op), in the order sent: the
            # broker answers them in that order.
            expected = collections.defaultdict(list)
            for _ in range(min(BATCH, TOTAL - sent)):
                roll = rng.random()
                if roll < 0.7:
                    p = rng.choice(EXISTING)
                    op, (payload, codes) = "update", gen.update_payload()
                    outcome = "rejected"
                elif roll < 0.9:
                    p = rng.choice(EXISTING)
                    # An accepted get carries no error code.
                    op, payload, codes, outcome = "get", gen.ignored_payload(), {None}, "accepted"
                else:
                    p = rng.choice(MISSING)
                    op, payload, codes, outcome = "delete", gen.ignored_payload(), {404}, "rejected"
                if rng.random() < 0.5:
                    p = short_form(p)
                sender.publish(p + "/" + op, payload, wait=False)
                expected[(p, op)].append((payload, outcome, codes))
                sent += 1
            for (p, op), requests in expected.items():
                answers = watch.take([p + "/%s/accepted" % op, p + "/%s/rejected" % op],
                                     len(requests), timeout=30)
                for (payload, outcome, codes), m in zip(requests, answers):
                    what = "%s %s payload %r -> %s %r" % (op, p, payload[:120], m.topic, m.payload[:200])
                    self.assertEqual(m.topic.rsplit("/", 1)[1], outcome, what)
                    self.assertIn(m.json().get("code"), codes, what)
            self.assertTrue(self.broker.alive(), self.broker.log()[-3000:])

        # Nothing beyond the expected answers: no accepted update, no event.
        for p in EXISTING:
            for q in (p, short_form(p)):
                watch.subscribe(q + "/get/accepted", q + "/get/rejected")
                watch.barrier(q)
        leftovers = [m for m in watch.pending() if "/get/" not in m.topic]
        self.assertEqual(leftovers, [])

        self.assertTrue(self.broker.alive())
        for p in EXISTING:
            with self.subTest(shadow=p):
                self.assertStored(self.get_accepted(p), before[p])
        for p in MISSING:
            self.assertEqual(self.get_shadow(p)[1].get("code"), 404)

        # A delete ignores a payload it cannot use, and the broker still serves writes.
        outcome, doc = self.request(victim, "delete", b"\xff\x00{{ not json")
        self.assertEqual((outcome, doc["version"]), ("accepted", 1))
        self.assertNotIn("clientToken", doc)
        acc = self.update_accepted(EXISTING[0], {"state": {"reported": {"i": 1}}})
        self.assertEqual(acc["version"], before[EXISTING[0]]["version"] + 1)


if __name__ == "__main__":
    unittest.main()
