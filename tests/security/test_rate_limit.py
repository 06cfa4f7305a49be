"""plugin_opt_rate_limit_per_thing: requests over the per-thing rate are
rejected with 429 before the service runs; other things are not affected."""

import time
import unittest

from sec_client import V311, SecurityCase, prefix, token_of

RATE = 5
BURST_SENT = 20


class RateLimitTest(SecurityCase):
    OPTIONS = {"rate_limit_per_thing": str(RATE)}

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
            m = c.take([p + "/update/accepted", p + "/update/rejected"],
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
        for _ in range(200):  # wait (bounded) for a token to read the result
            outcome, doc = self.request(c, p, "get")
            if outcome == "accepted":
                break
            self.assertEqual(doc["code"], 429)
            time.sleep(0.1)  # a token comes every 1/RATE s
        self.assertEqual(outcome, "accepted", doc)
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


if __name__ == "__main__":
    unittest.main()
