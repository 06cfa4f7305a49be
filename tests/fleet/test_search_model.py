"""Property test of fleet search end to end: a random fleet written over
MQTT, random queries sent with boto3's iot.search_index (random page
sizes, every page followed), each answer compared with an independent
Python model of the query language (docs/fleet.md#query-syntax).

Deterministic: round i uses seed SEED + i (SHADOW_PROPS_SEED overrides
SEED); a failure names the seed and the query."""

import os
import random
import unittest

from shadowtest.fleet import fill, search_all
from shadowtest.rest import RestTestCase, make_iot_client

SEED = int(os.environ.get("SHADOW_PROPS_SEED", "0x5eaf"), 0)
ROUNDS = 2
THINGS = 150
QUERIES = 60

MODES = ["eco", "boost", "eco plus", "Off"]
TAGS = ["red", "green", "blue"]


def words(s):
    return s.lower().split()


def has_delta(t):
    return any(k not in t["reported"] or t["reported"][k] != v for k, v in t["desired"].items())


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def section(self):
        s = {}
        if self.r.random() < 0.7:
            s["temp"] = self.r.randint(0, 20)
        if self.r.random() < 0.5:
            s["mode"] = self.r.choice(MODES)
        if self.r.random() < 0.5:
            s["on"] = self.r.random() < 0.5
        if self.r.random() < 0.3:
            s["tags"] = [self.r.choice(TAGS) for _ in range(self.r.randint(1, 3))]
        return s

    def thing(self, i):
        t = {"name": self.r.choice(["line-1-", "line-12-", "line-2-", "pump-"]) + str(i),
             "classic": self.r.random() < 0.85, "desired": {}, "reported": {}, "cfg": None}
        if t["classic"]:
            t["reported"] = self.section()
            if self.r.random() < 0.5:
                t["desired"] = self.section()
            if not t["reported"] and not t["desired"]:
                t["reported"] = {"temp": 1}
        if not t["classic"] or self.r.random() < 0.3:
            t["cfg"] = self.r.randint(0, 20)
        return t

    def cased(self, s):
        return "".join(c.upper() if self.r.random() < 0.3 else c for c in s)

    def atom(self):
        n, m = self.r.randint(0, 20), self.r.randint(0, 20)
        k = self.r.randrange(11)
        if k == 0:
            p = self.r.choice(["line-1", "line-12", "line-", "pump", "l"])
            return "thingName:%s*" % p, lambda t: t["name"].startswith(p)
        if k == 1:
            return "shadow.reported.temp:%d" % n, lambda t: t["reported"].get("temp") == n
        if k == 2:
            op = self.r.choice(["<", "<=", ">", ">="])
            f = {"<": lambda v: v < n, "<=": lambda v: v <= n, ">": lambda v: v > n, ">=": lambda v: v >= n}[op]
            return "shadow.reported.temp %s %d" % (op, n), lambda t: "temp" in t["reported"] and f(t["reported"]["temp"])
        if k == 3:
            lo, hi = min(n, m), max(n, m)
            li, hi_in = self.r.random() < 0.5, self.r.random() < 0.5
            text = "shadow.desired.temp:%s%d TO %d%s" % ("[" if li else "{", lo, hi, "]" if hi_in else "}")
            return text, lambda t: "temp" in t["desired"] and (
                (t["desired"]["temp"] >= lo if li else t["desired"]["temp"] > lo) and
                (t["desired"]["temp"] <= hi if hi_in else t["desired"]["temp"] < hi))
        if k == 4:
            w = self.r.choice(["eco", "boost", "plus", "off"])
            return "shadow.reported.mode:" + self.cased(w), lambda t: "mode" in t["reported"] and (
                t["reported"]["mode"].lower() == w or w in words(t["reported"]["mode"]))
        if k == 5:
            return "shadow.desired.mode:*", lambda t: "mode" in t["desired"]
        if k == 6:
            b = self.r.random() < 0.5
            return "shadow.reported.on:%s" % ("true" if b else "false"), lambda t: t["reported"].get("on") is b
        if k == 7:
            g = self.r.choice(TAGS)
            return "shadow.reported.tags:" + self.cased(g), lambda t: g in t["reported"].get("tags", [])
        if k == 8:
            b = self.r.random() < 0.5
            return "shadow.hasDelta:%s" % ("true" if b else "false"), lambda t: t["classic"] and has_delta(t) is b
        if k == 9:
            return "shadow.name.cfg.reported.interval > %d" % n, lambda t: t["cfg"] is not None and t["cfg"] > n
        return "shadow.delta.temp:*", lambda t: "temp" in t["desired"] and (
            t["reported"].get("temp") != t["desired"]["temp"])

    def query(self, depth=0):
        if depth >= 3 or self.r.random() < 0.35:
            text, f = self.atom()
            roll = self.r.random()
            if roll < 0.15:
                return "NOT " + text, lambda t: not f(t)
            if roll < 0.25:
                return "-" + text, lambda t: not f(t)
            return text, f
        (a, fa), (b, fb) = self.query(depth + 1), self.query(depth + 1)
        op = self.r.choice(["AND", "", "OR"])
        if op == "OR":
            return "(%s OR %s)" % (a, b), lambda t: fa(t) or fb(t)
        return "(%s %s%s)" % (a, op + " " if op else "", b), lambda t: fa(t) and fb(t)


class SearchModel(RestTestCase):

    def test_same_answers_as_the_model(self):
        control = make_iot_client(self.broker)
        for rnd in range(ROUNDS):
            seed = SEED + rnd
            gen = Gen(seed)
            fleet, docs, seen = [], [], set()
            for i in range(THINGS):
                t = gen.thing(i)
                t["name"] = "r%d-%s" % (rnd, t["name"])
                if t["name"] in seen:
                    continue
                seen.add(t["name"])
                if t["classic"]:
                    state = {}
                    if t["desired"]:
                        state["desired"] = t["desired"]
                    if t["reported"]:
                        state["reported"] = t["reported"]
                    docs.append((t["name"], None, state))
                if t["cfg"] is not None:
                    docs.append((t["name"], "cfg", {"reported": {"interval": t["cfg"]}}))
                fleet.append(t)
            fill(self.broker.port, docs)
            fleet.sort(key=lambda t: t["name"].encode())
            non_empty = 0
            for _ in range(QUERIES):
                text, holds = gen.query()
                query = "thingName:r%d-* AND (%s)" % (rnd, text)
                expected = [t["name"] for t in fleet if holds(t)]
                page = gen.r.choice([None, 1, 3, 17, 500])
                non_empty += bool(expected)
                with self.subTest(seed=seed, query=query, page=page):
                    self.assertEqual(search_all(control, query, page_size=page), expected)
            # The generator must produce queries that select something.
            self.assertGreater(non_empty, QUERIES // 4, "seed %d: too few queries match anything" % seed)


if __name__ == "__main__":
    unittest.main()
