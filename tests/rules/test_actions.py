"""Actions: republish (MQTT 5 headers, to shadow request topics, the loop
guard), http (retries, failures, the queue bound) and the errorAction
document; per-rule metrics."""

import base64
import json
import shutil
import tempfile
import threading
import unittest

import paho.mqtt.client as mqtt

from rules_case import HookServer, RulesTestCase, WAIT_S, dumps, http, payload, republish
from shadowtest.certs import self_signed
from shadowtest.fleet import history
from shadowtest.mqtt import prefix


class Republish(RulesTestCase):

    def test_mqtt5_headers_reach_a_v5_subscriber(self):
        self.create_rule("headers", payload("SELECT * FROM 'hdr/in'", republish("hdr/out", qos=1, headers={
            "contentType": "application/json",
            "correlationData": base64.b64encode(b"corr-1").decode(),
            "responseTopic": "hdr/reply/${clientid()}",
            "messageExpiry": "300",
            "payloadFormatIndicator": "UTF8_DATA",
            "userProperties": [{"key": "device", "value": "${clientid()}"}, {"key": "n", "value": "${n}"}]})))
        got = []
        arrived = threading.Event()

        def on_message(client, userdata, msg):
            got.append(msg)
            arrived.set()

        sub = mqtt.Client(client_id="hdr-sub", protocol=mqtt.MQTTv5)
        sub.on_message = on_message
        subscribed = threading.Event()
        sub.on_subscribe = lambda *a, **k: subscribed.set()
        sub.connect("127.0.0.1", self.broker.port)
        sub.loop_start()
        self.addCleanup(sub.loop_stop)
        self.addCleanup(sub.disconnect)
        sub.subscribe("hdr/out", qos=1)
        self.assertTrue(subscribed.wait(WAIT_S))

        pub = self.client("hdr-pub", client_id="hdr-pub")
        pub.publish("hdr/in", dumps({"n": 5}))
        self.assertTrue(arrived.wait(WAIT_S))
        msg = got[0]
        self.assertEqual(json.loads(msg.payload), {"n": 5})
        props = msg.properties
        self.assertEqual(props.ContentType, "application/json")
        self.assertEqual(props.CorrelationData, b"corr-1")
        self.assertEqual(props.ResponseTopic, "hdr/reply/hdr-pub")
        self.assertEqual(props.PayloadFormatIndicator, 1)
        self.assertLessEqual(props.MessageExpiryInterval, 300)
        self.assertEqual(props.UserProperty, [("device", "hdr-pub"), ("n", "5")])

    def test_republish_to_a_shadow_request_is_applied_like_a_device_request(self):
        thing = "rp_dev"
        p = prefix(thing)
        self.create_rule("to_shadow", payload("SELECT {'reported': {'temp': temp}} AS state FROM 'sensors/+/temp'",
                                              republish("$$aws/things/rp_${topic(2)}/shadow/update")))
        # A rule that feeds on the shadow's own answers and writes back to the
        # same shadow: without the loop guard each answer would trigger it
        # again, forever. It runs once per original message.
        self.create_rule("echo_back", payload(
            "SELECT VALUE {'state': {'reported': {'echo': state.reported.temp}}} "
            "FROM '$aws/things/+/shadow/update/accepted'",
            republish("$$aws/things/${topic(3)}/shadow/update")))
        watcher = self.client("watcher", p + "/update/accepted", p + "/update/rejected", p + "/get/accepted",
                              p + "/get/rejected", "$aws/things/%s/shadow/update" % thing)
        pub = self.client("pub")
        pub.publish("sensors/dev/temp", dumps({"temp": 21}))
        # The republished request itself reaches subscribers of the request topic.
        request = "$aws/things/%s/shadow/update" % thing
        self.assertEqual(watcher.take_json(request), {"state": {"reported": {"temp": 21}}})
        accepted = watcher.take_json(p + "/update/accepted")
        self.assertEqual((accepted["state"], accepted["version"]), ({"reported": {"temp": 21}}, 1))
        echoed = watcher.take_json(p + "/update/accepted")
        self.assertEqual((echoed["state"], echoed["version"]), ({"reported": {"echo": 21}}, 2))
        self.assertEqual(watcher.take_json(request), {"state": {"reported": {"echo": 21}}})
        watcher.barrier(p)
        self.assertEqual(watcher.pending(), [])
        self.assertEqual(self.get_accepted(p)["version"], 2)
        self.assertEqual(self.metric("shadow_rule_matched_total", "echo_back"), 1)

    def test_loop_guard_stops_rules_feeding_each_other(self):
        self.create_rule("ping", payload("SELECT * FROM 'loop/a'", republish("loop/b")))
        self.create_rule("pong", payload("SELECT * FROM 'loop/b'", republish("loop/a")))
        self.create_rule("self_loop", payload("SELECT * FROM 'loop/self'", republish("loop/self")))
        sub = self.client("loop-sub", "loop/a", "loop/b", "loop/self", "loop/end")
        pub = self.client("loop-pub")
        pub.publish("loop/a", b'{"hop":0}')
        # loop/a (client) -> loop/b (ping) -> loop/a (pong) -> ping is not run again.
        self.assertEqual([m.topic for m in sub.take(["loop/a", "loop/b"], count=3)], ["loop/a", "loop/b", "loop/a"])
        pub.publish("loop/self", b"{}")
        self.assertEqual(len(sub.take("loop/self", count=2)), 2)  # the original and one copy
        sub.echo_barrier("loop/end")
        self.assertEqual(sub.pending(), [])
        self.assertEqual(self.metric("shadow_rule_matched_total", "ping"), 1)
        self.assertEqual(self.metric("shadow_rule_matched_total", "pong"), 1)
        self.assertEqual(self.metric("shadow_rule_matched_total", "self_loop"), 1)


class RepublishDurable(Republish):
    """The same in durable mode (plugin_opt_sync_writes): the service's
    answers are held back until their write is synced and published later,
    from TICK; they still reach the rules, with their loop-guard trail."""
    broker_options = {"sync_writes": "true"}


class RepublishHistory(RulesTestCase):
    """A rule's republish to a shadow is recorded in the shadow history with
    the rule as the writer (docs/fleet.md#history)."""
    broker_options = {"history_versions": "3"}

    def test_history_names_the_rule(self):
        self.create_rule("to_hist", payload("SELECT VALUE {'state': {'reported': {'t': t}}} FROM 'hist/in'",
                                            republish("$$aws/things/rule_hist/shadow/update")))
        p = prefix("rule_hist")
        watcher = self.client("watcher", p + "/update/accepted")
        self.client("pub").publish("hist/in", dumps({"t": 4}))
        self.assertEqual(watcher.take_json(p + "/update/accepted")["version"], 1)
        r = history(self.broker, "rule_hist")
        self.assertEqual(r.status, 200, r)
        entry = r.json()["results"][0]
        self.assertEqual((entry["version"], entry["channel"], entry["identity"]), (1, "mqtt", "rule:to_hist"))


class HttpFailures(RulesTestCase):
    broker_options = {"rules_http_workers": "1", "rules_http_queue": "1"}

    @classmethod
    def setUpClass(cls):
        cls.failing = HookServer(status=[500, 503, 502])
        cls.refusing = HookServer(status=404)
        cls.slow = HookServer(hold=True)
        cls.http_allow = ",".join(s.host_port for s in (cls.failing, cls.refusing, cls.slow))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for s in (cls.failing, cls.refusing, cls.slow):
            s.close()

    def error_rule(self, name, url):
        self.create_rule(name, payload("SELECT * FROM 'fail/%s'" % name, http(url),
                                       error_action=republish("errors/${topic(2)}")))

    def test_retries_then_error_action(self):
        self.error_rule("retried", self.failing.url("/x"))
        errors = self.client("errors", "errors/retried")
        pub = self.client("pub", client_id="fail-pub")
        pub.publish("fail/retried", b'{"v":1}')
        for _ in range(3):  # 500, 503, 502: three tries, then the errorAction
            self.failing.take()
        report = errors.take_json("errors/retried")
        self.assertEqual(report["ruleName"], "retried")
        self.assertEqual(report["topic"], "fail/retried")
        self.assertEqual(report["clientId"], "fail-pub")
        self.assertEqual(base64.b64decode(report["base64OriginalPayload"]), b'{"v":1}')
        self.assertEqual(len(report["cloudwatchTraceId"]), 36)
        self.assertEqual(report["failures"], [{"failedAction": "HttpAction", "failedResource": self.failing.url("/x"),
                                               "errorMessage": "answered HTTP 502 (after 3 tries)"}])
        self.assertIn(report["cloudwatchTraceId"], self.broker.log())
        self.assertEqual(self.metric("shadow_rule_actions_failed_total", "retried"), 1)

    def test_client_error_is_not_retried(self):
        self.error_rule("refused", self.refusing.url("/y"))
        errors = self.client("errors", "errors/refused")
        self.client("pub").publish("fail/refused", b"{}")
        self.refusing.take()
        report = errors.take_json("errors/refused")
        self.assertEqual(report["failures"][0]["errorMessage"], "answered HTTP 404")

    def test_full_queue_drops_to_error_action(self):
        self.error_rule("queued", self.slow.url("/z"))
        errors = self.client("errors", "errors/queued")
        pub = self.client("pub")
        pub.publish("fail/queued", b'{"n":1}')
        self.assertTrue(self.slow.arrived.acquire(timeout=WAIT_S))  # the one worker is busy with it
        pub.publish("fail/queued", b'{"n":2}')   # the queue (1) is full: dropped
        report = errors.take_json("errors/queued")
        self.assertIn("queue is full", report["failures"][0]["errorMessage"])
        self.assertEqual(base64.b64decode(report["base64OriginalPayload"]), b'{"n":2}')
        self.slow.release()
        self.assertEqual(json.loads(self.slow.take()["body"]), {"n": 1})
        self.assertEqual(self.metric("shadow_rule_actions_dropped_total", "queued"), 1)


class HttpsUntrusted(RulesTestCase):
    """https:// URLs need no allow list, and the server's certificate is
    verified against the system's CA store: a self-signed one is refused,
    once (no retry), and reported to the errorAction."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="shadow-rules-https-")
        cls.hooks = HookServer(tls=self_signed(cls.tmp))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.hooks.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_self_signed_server_is_refused(self):
        url = self.hooks.url("/secure")
        self.assertTrue(url.startswith("https://"))
        self.create_rule("tls_check", payload("SELECT * FROM 'tls/in'", http(url),
                                              error_action=republish("errors/tls")))
        errors = self.client("errors", "errors/tls")
        self.client("pub").publish("tls/in", b'{"n":1}')
        report = errors.take_json("errors/tls")
        self.assertEqual(report["failures"][0]["failedAction"], "HttpAction")
        self.assertIn("SSLServerVerification", report["failures"][0]["errorMessage"])
        self.assertIn("certificate is not trusted", report["failures"][0]["errorMessage"])
        self.assertTrue(self.hooks.requests.empty())  # no request got through the handshake
        self.assertEqual(self.metric("shadow_rule_actions_failed_total", "tls_check"), 1)


if __name__ == "__main__":
    unittest.main()
