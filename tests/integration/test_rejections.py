"""Every rejection of an update (test vectors TV-16..TV-37) over the
wire: exact error document, clientToken echo rules, and that a rejected
request changes nothing (no accepted/delta/documents; same document on get)."""

import json
import unittest

from shadowtest.cases import BrokerTestCase
from shadowtest.mqtt import prefix

MAX_PAYLOAD = 20000  # plugin_opt_max_payload_bytes for this broker
ANY_TOKEN = object()  # the test does not care whether the token is echoed

INVALID_JSON = "Payload contains invalid json"
MISSING_STATE = "Missing required node: state"
BAD_TOKEN = "Invalid clientToken"
STATE_NOT_OBJECT = "State node must be an object"
DESIRED_NOT_OBJECT = "Desired node must be an object"
REPORTED_NOT_OBJECT = "Reported node must be an object"
BAD_VERSION = "Invalid version"
TOO_DEEP = "JSON contains too many levels of nesting; maximum is 6"
NULL_IN_ARRAY = "Invalid JSON"
CONFLICT = "Version conflict"
TOO_LARGE = "The payload exceeds the maximum size allowed"
NOT_UTF8 = "Unsupported documented encoding; supported encoding is UTF-8"


def raw(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def nested(depth, leaf="x"):
    """{"1":{"2":...{"<depth>":leaf}}}. As desired/reported, nested(6) is the
    deepest allowed document (TV-25): the section is level 1, key "5" holds
    level 6, and a container under key "6" would be level 7."""
    value = leaf
    for i in range(depth, 0, -1):
        value = {str(i): value}
    return value


class RejectedUpdates(BrokerTestCase):
    broker_options = {"max_payload_bytes": MAX_PAYLOAD}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p = prefix("rej1")

    def setUp(self):
        outcome, _ = self.get_shadow(self.p)
        if outcome == "rejected":
            self.update_accepted(self.p, {"state": {"desired": {"b": 2}, "reported": {"a": 1}}})
        self.watchers = {}

    def watcher(self, p):
        """A client that sees every response and event of shadow `p`; created
        after any setup writes so that it only sees the request under test."""
        if p not in self.watchers:
            self.watchers[p] = self.client("watch", *[p + t for t in (
                "/update/accepted", "/update/rejected", "/update/delta", "/update/documents",
                "/get/accepted", "/get/rejected")])
        return self.watchers[p]

    def assertRejected(self, payload, code, message, token=None, p=None):
        """Publish `payload` as an update; expect exactly one rejection and no
        change at all. token: expected echoed clientToken, None = must be
        absent, ANY_TOKEN = not checked."""
        p = p or self.p
        before = self.get_shadow(p)
        watch = self.watcher(p)
        watch.publish(p + "/update", payload)
        rej = watch.take_one(p + "/update/rejected").json()
        expected = {"code": code, "message": message}
        if token is ANY_TOKEN:
            rej.pop("clientToken", None)
        elif token is not None:
            expected["clientToken"] = token
        self.assertEqual(rej, expected, "payload %r" % payload[:200])
        self.assertEqual(list(rej), list(expected))
        # Nothing else came out of this request...
        watch.barrier(p)
        self.assertEqual(watch.pending([p + "/update/accepted", p + "/update/delta",
                                             p + "/update/documents", p + "/update/rejected"]), [])
        # ...and nothing was stored (document and version unchanged, or still missing).
        after = self.get_shadow(p)
        self.assertEqual(before[0], after[0])
        if before[0] == "accepted":
            self.assertStored(after[1], before[1])
        else:
            self.assertEqual(before[1], after[1])

    def test_invalid_json(self):
        self.assertRejected(b'{"state":', 400, INVALID_JSON)
        self.assertRejected(b'{"state":{"reported":{"a":2}},"clientToken":"j1"', 400, INVALID_JSON)
        self.assertRejected(b"", 400, INVALID_JSON)
        self.assertRejected(b"not json", 400, INVALID_JSON)

    def test_missing_state(self):
        self.assertRejected(raw({"clientToken": "x1"}), 400, MISSING_STATE, "x1")
        self.assertRejected(raw({"desired": {"a": 2}, "clientToken": "x2"}), 400, MISSING_STATE, "x2")
        self.assertRejected(b"66", 400, MISSING_STATE)
        self.assertRejected(b'[{"state":{}}]', 400, MISSING_STATE)

    def test_invalid_client_token_is_not_echoed(self):
        long_token = "t" * 65
        self.assertRejected(raw({"state": {"reported": {"a": 2}}, "clientToken": long_token}),
                            400, BAD_TOKEN)
        # 65 bytes of UTF-8 in fewer characters is still too long.
        self.assertRejected(raw({"state": {"reported": {"a": 2}}, "clientToken": "é" * 33}),
                            400, BAD_TOKEN)
        self.assertRejected(raw({"state": {"reported": {"a": 2}}, "clientToken": 42}), 400, BAD_TOKEN)

    def test_state_not_object(self):
        self.assertRejected(raw({"state": "on", "clientToken": "s1"}), 400, STATE_NOT_OBJECT, "s1")
        self.assertRejected(raw({"state": [1], "clientToken": "s2"}), 400, STATE_NOT_OBJECT, "s2")
        self.assertRejected(raw({"state": 5}), 400, STATE_NOT_OBJECT)

    def test_desired_and_reported_not_object(self):
        self.assertRejected(raw({"state": {"desired": [1, 2]}, "clientToken": "d1"}),
                            400, DESIRED_NOT_OBJECT, "d1")
        self.assertRejected(raw({"state": {"desired": "x"}}), 400, DESIRED_NOT_OBJECT)
        self.assertRejected(raw({"state": {"reported": "x"}, "clientToken": "r1"}),
                            400, REPORTED_NOT_OBJECT, "r1")
        self.assertRejected(raw({"state": {"reported": True}}), 400, REPORTED_NOT_OBJECT)

    def test_invalid_node_in_state(self):
        self.assertRejected(raw({"state": {"desired": {"a": 1}, "delta": {"a": 1}},
                                 "clientToken": "x3"}),
                            400, "State contains an invalid node: 'delta'", "x3")
        self.assertRejected(raw({"state": {"foo": 1}}), 400, "State contains an invalid node: 'foo'")
        self.assertRejected(raw({"state": {"metadata": {}}, "clientToken": "m1"}),
                            400, "State contains an invalid node: 'metadata'", "m1")

    def test_invalid_version(self):
        for i, version in enumerate([-1, "1", 1.5, True, [1]]):
            with self.subTest(version=version):
                token = "v%d" % i
                self.assertRejected(raw({"state": {"reported": {"a": 2}}, "version": version,
                                         "clientToken": token}), 400, BAD_VERSION, token)

    def test_depth_seven_rejected(self):
        self.assertRejected(raw({"state": {"reported": nested(7)}, "clientToken": "deep1"}),
                            400, TOO_DEEP, "deep1")
        self.assertRejected(raw({"state": {"desired": nested(6, {"8": 1})}}), 400, TOO_DEEP)
        # Arrays count as a level.
        self.assertRejected(raw({"state": {"desired": nested(5, [{"x": 1}])}}), 400, TOO_DEEP)

    def test_depth_six_accepted(self):
        # Positive control for the boundary above (TV-25).
        acc = self.update_accepted(prefix("deep6"), {"state": {"reported": nested(6)}})
        self.assertEqual(acc["version"], 1)

    def test_null_in_array(self):
        self.assertRejected(raw({"state": {"desired": {"colors": [None, "RED"]}},
                                 "clientToken": "n1"}), 400, NULL_IN_ARRAY, "n1")
        self.assertRejected(raw({"state": {"reported": {"m": [[1, None]]}}}), 400, NULL_IN_ARRAY)

    def test_version_conflict(self):
        current = self.get_accepted(self.p)["version"]
        self.assertRejected(raw({"state": {"desired": {"b": 3}}, "version": current - 1,
                                 "clientToken": "c16"}), 409, CONFLICT, "c16")
        self.assertRejected(raw({"state": {"desired": {"b": 3}}, "version": current + 1,
                                 "clientToken": "c17"}), 409, CONFLICT, "c17")
        # The matching version is accepted (TV-17).
        acc = self.update_accepted(self.p, {"state": {"desired": {"b": 2}}, "version": current})
        self.assertEqual(acc["version"], current + 1)

    def test_merged_document_too_large(self):
        p = prefix("big1")
        # len(compact desired) + len(compact reported) = 8150 (TV-27).
        self.update_accepted(p, {"state": {"reported": {"big": "x" * 8140}}})
        self.assertRejected(raw({"state": {"desired": {"k": "y" * 35}}, "clientToken": "big"}),
                            413, TOO_LARGE, "big", p=p)
        # Exactly 8192 bytes is still allowed.
        acc = self.update_accepted(p, {"state": {"desired": {"k": "y" * 34}}})
        self.assertEqual(acc["version"], 2)

    def test_payload_over_max_payload_bytes(self):
        payload = raw({"state": {"reported": {"a": "z" * MAX_PAYLOAD}}, "clientToken": "huge"})
        self.assertGreater(len(payload), MAX_PAYLOAD)
        self.assertRejected(payload, 413, TOO_LARGE, ANY_TOKEN)
        # Under the cap, whitespace padding does not count toward the document size.
        padded = b'{"state":{"reported":{"pad":1}}' + b" " * (MAX_PAYLOAD - 100) + b"}"
        acc = self.update_accepted(prefix("pad1"), padded)
        self.assertEqual(acc["state"], {"reported": {"pad": 1}})

    def test_invalid_utf8(self):
        self.assertRejected(b'{"state":{"reported":{"s":"\xff"}},"clientToken":"u1"}',
                            415, NOT_UTF8, ANY_TOKEN)
        self.assertRejected(b'{"state":{"reported":{"s":"\xc3"}}}', 415, NOT_UTF8, ANY_TOKEN)

    def test_rejected_update_does_not_create_a_shadow(self):
        p = prefix("never1")
        self.assertRejected(raw({"state": {"delta": {}}, "clientToken": "n"}), 400,
                            "State contains an invalid node: 'delta'", "n", p=p)
        self.assertRejected(raw({"state": {}, "version": 3, "clientToken": "n2"}), 409, CONFLICT,
                            "n2", p=p)
        outcome, doc = self.get_shadow(p)
        self.assertEqual((outcome, doc["code"]), ("rejected", 404))


class NotFound(BrokerTestCase):
    """404 on get/delete of shadows that do not exist (TV-18..TV-20)."""

    def assertNotFound(self, p, op, name, payload, token=None):
        outcome, doc = self.request(p, op, payload)
        expected = {"code": 404, "message": "No shadow exists with name: '%s'" % name}
        if token is not None:
            expected["clientToken"] = token
        self.assertEqual((outcome, doc), ("rejected", expected))
        self.assertEqual(list(doc), list(expected))

    def test_classic_missing(self):
        for form in ("aws", "short"):
            p = prefix("dev1", None, form)
            self.assertNotFound(p, "get", "dev1", b"")
            self.assertNotFound(p, "get", "dev1", raw({"clientToken": "g404"}), "g404")
            self.assertNotFound(p, "delete", "dev1", b"")
            self.assertNotFound(p, "delete", "dev1", raw({"clientToken": "d2"}), "d2")

    def test_named_missing(self):
        for form in ("aws", "short"):
            p = prefix("dev1", "cfg", form)
            self.assertNotFound(p, "get", "cfg", b"")
            self.assertNotFound(p, "delete", "cfg", raw({"clientToken": "d3"}), "d3")

    def test_named_missing_while_classic_exists(self):
        self.update_accepted(prefix("dev9"), {"state": {"reported": {"a": 1}}})
        self.assertNotFound(prefix("dev9", "cfg"), "get", "cfg", b"")

    def test_deleted_shadow_is_not_found_and_recreation_continues_version(self):
        p = prefix("gone1")
        self.update_accepted(p, {"state": {"reported": {"x": 1}}})
        self.update_accepted(p, {"state": {"reported": {"x": 2}}})
        outcome, doc = self.request(p, "delete", raw({"clientToken": "d1"}))
        self.assertEqual(outcome, "accepted")
        self.assertTimestamp(doc["timestamp"])
        self.assertEqual(doc, {"version": 2, "timestamp": doc["timestamp"], "clientToken": "d1"})
        self.assertNotFound(p, "get", "gone1", b"")
        self.assertNotFound(p, "delete", "gone1", b"")
        # Re-created versions stay above every version published before (TV-18).
        acc = self.update_accepted(p, {"state": {"reported": {"x": 3}}})
        self.assertGreater(acc["version"], 2)


if __name__ == "__main__":
    unittest.main()
