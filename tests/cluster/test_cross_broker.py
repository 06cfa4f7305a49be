"""Two brokers on one Redis Cluster (plugin_opt_store redis-cluster): what a
client of one broker sees of requests made through the other, over MQTT and
REST, in version order and exactly once.

The Redis Cluster is the shared one of the ctest fixture (tests/cluster);
the two brokers get a key prefix of their own on it. Broker A is
`broker.ports`, broker B `broker.peer.ports` (tests/lib/shadowtest/broker.py).
"""

import json
import subprocess
import threading
import time
import unittest
import urllib.request

from shadowtest.broker import redis_nodes
from shadowtest.cases import BrokerLogOnFailure
from shadowtest.mqtt import Client, new_token, prefix
from shadowtest.rest import RestBroker, make_client, rest_endpoint

EVENTS = ("update/accepted", "update/delta", "update/documents")


class CrossBrokerTest(BrokerLogOnFailure, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # /metrics unsigned: the echo test reads a counter.
        cls.broker = RestBroker(auth="sigv4", options={"http_metrics_auth": "false"})
        cls.broker.cluster = True  # whatever SHADOW_TEST_STORE says: this suite is about clusters
        cls.broker.start()
        cls.a_mqtt, cls.a_http = cls.broker.ports[0], cls.broker.ports[1]
        cls.b_mqtt, cls.b_http = cls.broker.peer.ports[0], cls.broker.peer.ports[1]

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def client(self, port, name, *topics):
        c = Client(port, name)
        self.addCleanup(c.close)
        if topics:
            granted = c.subscribe(*topics)
            self.assertTrue(all(g in (0, 1) for g in granted), granted)
        return c

    def rest(self, http_port):
        return make_client(rest_endpoint(http_port))

    def versions(self, client, topic, count):
        return [m.json()["version"] for m in client.take(topic, count)]

    def metric(self, http_port, name):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http_port, timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return int(line.split()[1])
        self.fail("%s not in /metrics" % name)

    def listener_pids(self, thing):
        """The brokers (by process id) in the listener set of the thing's
        event channel: a broker's name is host/pid/random."""
        host, port = redis_nodes().split(",")[0].rsplit(":", 1)
        key = self.broker.key_prefix + "ev:{%s}:in" % thing
        out = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port, "SMEMBERS", key],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return sorted(int(m.split("/")[1]) for m in out.split())

    def wait_listener_pids(self, thing, want):
        deadline = time.monotonic() + 10
        while self.listener_pids(thing) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.listener_pids(thing), want)

    def test_update_through_a_reaches_a_subscriber_on_b(self):
        thing = "xb-" + new_token("one")
        p = prefix(thing)
        device = self.client(self.b_mqtt, "device-b", *[p + "/" + e for e in EVENTS])
        app = self.client(self.a_mqtt, "app-a", p + "/update/accepted", p + "/update/rejected")

        outcome, doc = app.request(p, "update", {"state": {"desired": {"led": "on"}}}, token=new_token())
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(doc["version"], 1)

        accepted = device.take_one(p + "/update/accepted").json()
        delta = device.take_one(p + "/update/delta").json()
        documents = device.take_one(p + "/update/documents").json()
        self.assertEqual(accepted["version"], 1)
        self.assertEqual(accepted["clientToken"], doc["clientToken"])
        self.assertEqual(delta["state"], {"led": "on"})
        self.assertEqual(delta["version"], 1)
        self.assertIsNone(documents["previous"])
        self.assertEqual(documents["current"]["state"]["desired"], {"led": "on"})
        self.assertEqual(documents["current"]["version"], 1)

        # B serves the same shadow: a get there sees what A wrote.
        getter = self.client(self.b_mqtt, "getter-b", p + "/get/accepted", p + "/get/rejected")
        outcome, got = getter.request(p, "get", {}, token=new_token())
        self.assertEqual(outcome, "accepted", got)
        self.assertEqual(got["version"], 1)
        self.assertEqual(got["state"]["desired"], {"led": "on"})

    def test_many_updates_arrive_in_version_order_exactly_once(self):
        thing = "xb-" + new_token("order")
        p = prefix(thing)
        watcher = self.client(self.b_mqtt, "watch-b", p + "/update/accepted", p + "/update/documents")
        app = self.client(self.a_mqtt, "app-a", p + "/update/accepted", p + "/update/rejected")
        n = 50
        for i in range(n):
            outcome, doc = app.request(p, "update", {"state": {"reported": {"i": i}}}, token=new_token())
            self.assertEqual(outcome, "accepted", doc)
            self.assertEqual(doc["version"], i + 1)
        self.assertEqual(self.versions(watcher, p + "/update/accepted", n), list(range(1, n + 1)))
        docs = watcher.take(p + "/update/documents", n)
        self.assertEqual([d.json()["current"]["version"] for d in docs], list(range(1, n + 1)))
        self.assertEqual(docs[-1].json()["current"]["state"]["reported"], {"i": n - 1})
        # Exactly once: a later write is the barrier (events of one shadow
        # arrive in version order), nothing else may be buffered before it.
        app.request(p, "update", {"state": {"reported": {"i": "last"}}}, token=new_token())
        self.assertEqual(self.versions(watcher, p + "/update/accepted", 1), [n + 1])
        self.assertEqual(watcher.pending(p + "/update/accepted"), [])

    def test_a_subscription_right_after_a_wildcard_one_left_gets_every_event(self):
        # Turning the firehose off (16,384 channels to leave) must not delay
        # the next subscription of that broker past its SUBACK.
        dashboard = Client(self.b_mqtt, "dash-b")
        try:
            dashboard.subscribe("$aws/things/+/shadow/update/documents")
        finally:
            dashboard.close()
        thing = "xb-" + new_token("after-wild")
        p = prefix(thing)
        watcher = self.client(self.b_mqtt, "watch-b", p + "/update/accepted")
        app = self.client(self.a_mqtt, "app-a", p + "/update/accepted", p + "/update/rejected")
        for i in range(20):
            self.assertEqual(app.request(p, "update", {"state": {"reported": {"i": i}}}, token=new_token())[0],
                             "accepted")
        self.assertEqual(self.versions(watcher, p + "/update/accepted", 20), list(range(1, 21)))

    def test_writers_on_both_brokers_every_subscriber_sees_contiguous_versions(self):
        thing = "xb-" + new_token("race")
        p = prefix(thing)
        watchers = [self.client(port, "watch-%d" % port, p + "/update/accepted")
                    for port in (self.a_mqtt, self.b_mqtt)]
        per_writer = 40
        errors = []

        def write(port, tag):
            c = Client(port, "writer-" + tag)
            try:
                c.subscribe(p + "/update/accepted", p + "/update/rejected")
                for i in range(per_writer):
                    outcome, doc = c.request(p, "update", {"state": {"reported": {tag: i}}},
                                             token=new_token(tag))
                    if outcome != "accepted":
                        errors.append(doc)
            except Exception as e:  # reported below, in the test's thread
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=write, args=(port, tag))
                   for port, tag in ((self.a_mqtt, "a"), (self.b_mqtt, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "writers did not finish in 120 s")
        self.assertEqual(errors, [])
        total = 2 * per_writer
        for w in watchers:
            self.assertEqual(self.versions(w, p + "/update/accepted", total), list(range(1, total + 1)))

    def test_rest_update_on_a_reaches_mqtt_on_b_and_rest_on_b(self):
        thing = "xb-" + new_token("rest")
        p = prefix(thing)
        watcher = self.client(self.b_mqtt, "watch-b", p + "/update/accepted", p + "/update/delta")
        a = self.rest(self.a_http)
        for i in range(5):
            body = a.update_thing_shadow(thingName=thing,
                                         payload=json.dumps({"state": {"desired": {"n": i}}}).encode())
            self.assertEqual(json.loads(body["payload"].read())["version"], i + 1)
        self.assertEqual(self.versions(watcher, p + "/update/accepted", 5), [1, 2, 3, 4, 5])
        self.assertEqual(self.versions(watcher, p + "/update/delta", 5), [1, 2, 3, 4, 5])
        got = json.loads(self.rest(self.b_http).get_thing_shadow(thingName=thing)["payload"].read())
        self.assertEqual(got["version"], 5)
        self.assertEqual(got["state"]["desired"], {"n": 4})

    def test_named_shadow_delete_and_version_continuity_across_brokers(self):
        thing = "xb-" + new_token("named")
        p = prefix(thing, "cfg")
        watcher = self.client(self.b_mqtt, "watch-b", p + "/update/accepted", p + "/delete/accepted")
        app = self.client(self.a_mqtt, "app-a", p + "/update/accepted", p + "/update/rejected",
                          p + "/delete/accepted", p + "/delete/rejected")
        self.assertEqual(app.request(p, "update", {"state": {"desired": {"x": 1}}}, token=new_token())[0],
                         "accepted")
        outcome, deleted = app.request(p, "delete", {}, token=new_token())
        self.assertEqual(outcome, "accepted", deleted)
        outcome, doc = app.request(p, "update", {"state": {"desired": {"x": 2}}}, token=new_token())
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(watcher.take_one(p + "/update/accepted").json()["version"], 1)
        self.assertEqual(watcher.take_one(p + "/delete/accepted").json()["version"], 1)
        # The version continues after the delete, on every broker.
        self.assertEqual(watcher.take_one(p + "/update/accepted").json()["version"], doc["version"])
        self.assertGreater(doc["version"], 1)
        names = self.rest(self.b_http).list_named_shadows_for_thing(thingName=thing)["results"]
        self.assertEqual(names, ["cfg"])

    def test_get_and_rejections_on_a_reach_subscribers_on_b(self):
        thing = "xb-" + new_token("replies")
        p = prefix(thing)
        watcher = self.client(self.b_mqtt, "watch-b", p + "/get/accepted", p + "/get/rejected",
                              p + "/update/rejected")
        app = self.client(self.a_mqtt, "app-a", p + "/get/accepted", p + "/get/rejected",
                          p + "/update/accepted", p + "/update/rejected")
        token = new_token("nf")
        self.assertEqual(app.request(p, "get", {}, token=token)[0], "rejected")
        self.assertEqual(watcher.take_one(p + "/get/rejected").json()["clientToken"], token)
        app.request(p, "update", {"state": {"desired": {"a": 1}}}, token=new_token())
        token = new_token("conflict")
        outcome, doc = app.request(p, "update", {"state": {"desired": {"a": 2}}, "version": 7}, token=token)
        self.assertEqual((outcome, doc["code"]), ("rejected", 409))
        rejected = watcher.take_one(p + "/update/rejected").json()
        self.assertEqual((rejected["code"], rejected["clientToken"]), (409, token))
        token = new_token("get")
        app.request(p, "get", {}, token=token)
        got = watcher.take_one(p + "/get/accepted").json()
        self.assertEqual((got["version"], got["clientToken"]), (1, token))

    def test_events_go_only_to_other_brokers_that_watch(self):
        thing = "xb-" + new_token("echo")
        p = prefix(thing)
        a_pid, b_pid = self.broker.proc.pid, self.broker.peer.proc.pid
        # Only A's clients watch: A alone is listed, and its writes publish
        # nothing (no echo comes back to it).
        watcher_a = self.client(self.a_mqtt, "watch-a", p + "/update/accepted")
        app = self.client(self.a_mqtt, "app-a", p + "/update/accepted", p + "/update/rejected")
        self.assertEqual(self.listener_pids(thing), [a_pid])
        echoes = self.metric(self.a_http, "shadow_cluster_events_own_total")
        for i in range(5):
            self.assertEqual(app.request(p, "update", {"state": {"reported": {"i": i}}}, token=new_token())[0],
                             "accepted")
        self.assertEqual(self.versions(watcher_a, p + "/update/accepted", 5), [1, 2, 3, 4, 5])
        self.assertEqual(self.metric(self.a_http, "shadow_cluster_events_own_total"), echoes)

        # A client of B watches too: B is listed, and gets A's writes.
        watcher_b = Client(self.b_mqtt, "watch-b")
        try:
            watcher_b.subscribe(p + "/update/accepted")
            self.assertEqual(self.listener_pids(thing), sorted([a_pid, b_pid]))
            self.assertEqual(app.request(p, "update", {"state": {"reported": {"i": 5}}}, token=new_token())[0],
                             "accepted")
            self.assertEqual(self.versions(watcher_b, p + "/update/accepted", 1), [6])
            self.assertEqual(self.versions(watcher_a, p + "/update/accepted", 1), [6])
            self.assertEqual(watcher_a.pending(p + "/update/accepted"), [])
        finally:
            watcher_b.close()
        # B's watcher left: B leaves the set; then A's clients leave too.
        self.wait_listener_pids(thing, [a_pid])
        watcher_a.close()
        app.close()
        self.wait_listener_pids(thing, [])

    def test_wildcard_subscriber_on_b_sees_every_thing(self):
        things = ["xb-" + new_token("wild%d" % i) for i in range(3)]
        dashboard = self.client(self.b_mqtt, "dash-b", "$aws/things/+/shadow/update/documents")
        app = Client(self.a_mqtt, "app-a")
        self.addCleanup(app.close)
        for t in things:
            app.subscribe(prefix(t) + "/update/accepted", prefix(t) + "/update/rejected")
        for round_ in range(2):
            for t in things:
                outcome, doc = app.request(prefix(t), "update", {"state": {"reported": {"r": round_}}},
                                           token=new_token())
                self.assertEqual(outcome, "accepted", doc)
        topics = [prefix(t) + "/update/documents" for t in things]
        seen = dashboard.take(topics, 6)
        for t in things:
            mine = [m.json()["current"]["version"] for m in seen if m.topic == prefix(t) + "/update/documents"]
            self.assertEqual(mine, [1, 2], t)


if __name__ == "__main__":
    unittest.main()
