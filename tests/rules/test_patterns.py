"""The three production patterns of the shadow guide, end to end with a
real broker, as docs/rules.md shows them:

1. Last Will -> shadow: a device's Will on my/things/{thing}/update is
   republished to its shadow's update topic when the device dies.
2. Trimming: only the `state` of each delta goes to {thing}/shadow/trimmed/update.
3. Notification: the reported state of hot devices is POSTed to a web service.
"""

import select
import shutil
import subprocess
import time
import unittest

from rules_case import HookServer, RulesTestCase, WAIT_S, dumps, http, payload, republish
from shadowtest.mqtt import prefix

MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


class Device:
    """A mosquitto_sub process with a Last Will: a device that can be killed."""

    def __init__(self, port, client_id, will_topic, will_payload):
        self.proc = subprocess.Popen(
            [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port), "-i", client_id, "-t", "device/%s/ping" % client_id,
             "-k", "30", "--will-topic", will_topic, "--will-payload", will_payload, "--will-qos", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_connected(self, pinger, client_id):
        """Pings the device's topic until it prints the ping: it is then
        connected and subscribed (bounded)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto_sub exited: %r" % self.proc.stderr.read())
            pinger.publish("device/%s/ping" % client_id, b"ping", qos=0)
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready and self.proc.stdout.readline().strip() == b"ping":
                return
        raise AssertionError("the device did not connect within %.0f s" % WAIT_S)

    def kill(self):
        self.proc.kill()
        self.proc.wait(WAIT_S)


class LastWillToShadow(RulesTestCase):

    def test_killed_device_reports_disconnected(self):
        thing = "lw_dev1"
        p = prefix(thing)
        self.create_rule("will_to_shadow", payload("SELECT * FROM 'my/things/+/update'",
                                                   republish("$$aws/things/${topic(3)}/shadow/update")))
        before = self.update_accepted(p, {"state": {"reported": {"connected": "true"}}})
        watcher = self.client("watcher", p + "/update/documents", "my/things/+/update", "$aws/things/%s/shadow/update" % thing)

        device = Device(self.broker.port, thing, "my/things/%s/update" % thing,
                        dumps({"state": {"reported": {"connected": "false"}}}))
        self.addCleanup(device.kill)
        device.wait_connected(watcher, thing)
        device.kill()

        will = watcher.take_one("my/things/%s/update" % thing)
        self.assertEqual(will.json(), {"state": {"reported": {"connected": "false"}}})
        # The republished request reaches the shadow's update topic, and the
        # service applies it like a device's request.
        republished = watcher.take_one("$aws/things/%s/shadow/update" % thing)
        self.assertEqual(republished.json(), {"state": {"reported": {"connected": "false"}}})
        documents = watcher.take_json(p + "/update/documents")
        self.assertEqual(documents["current"]["state"]["reported"], {"connected": "false"})
        self.assertEqual(documents["current"]["version"], before["version"] + 1)
        shadow = self.get_accepted(p)
        self.assertEqual(shadow["state"]["reported"], {"connected": "false"})
        self.assertEqual(shadow["version"], before["version"] + 1)
        self.assertEqual(self.metric("shadow_rule_matched_total", "will_to_shadow"), 1)
        self.assertEqual(self.metric("shadow_rule_actions_executed_total", "will_to_shadow"), 1)


class Trimming(RulesTestCase):

    def test_device_receives_only_the_state_of_each_delta(self):
        thing = "trim_dev1"
        self.create_rule("trim_delta", payload("SELECT state FROM '$aws/things/+/shadow/update/delta'",
                                               republish("${topic(3)}/shadow/trimmed/update", qos=1)))
        device = self.client("device", "%s/shadow/trimmed/update" % thing)
        self.rest_update(thing, {"state": {"desired": {"fan": 2, "mode": "eco"}}})
        trimmed = device.take_one("%s/shadow/trimmed/update" % thing)
        self.assertEqual(trimmed.json(), {"state": {"fan": 2, "mode": "eco"}})
        self.assertEqual(trimmed.qos, 1)

        # Reported catching up with desired makes no delta: nothing is sent
        # (the next delta, after it, is the barrier).
        self.rest_update(thing, {"state": {"reported": {"fan": 2, "mode": "eco"}}})
        self.rest_update(thing, {"state": {"desired": {"fan": 3}}})
        self.assertEqual(device.take_one("%s/shadow/trimmed/update" % thing).json(), {"state": {"fan": 3}})
        self.assertEqual(device.pending(), [])


class Notification(RulesTestCase):
    broker_options = {"rules_http_workers": "1"}  # one worker: POSTs arrive in order

    @classmethod
    def setUpClass(cls):
        cls.hooks = HookServer()
        cls.http_allow = cls.hooks.host_port
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.hooks.close()

    def test_hot_devices_are_posted(self):
        self.create_rule("hot", payload(
            "SELECT VALUE current.state.reported FROM '$aws/things/+/shadow/update/documents' "
            "WHERE current.state.reported.temperature > 30",
            http(self.hooks.url("/alerts/${topic(3)}"), headers={"x-source": "${clientid()}"},
                 confirmation_url=self.hooks.url("/alerts/"))))
        self.rest_update("oven1", {"state": {"reported": {"temperature": 35, "door": "closed"}}})
        request = self.hooks.take()
        self.assertEqual(request["path"], "/alerts/oven1")
        self.assertEqual(request["headers"]["Content-Type"], "application/json")
        self.assertEqual(request["headers"]["x-source"], "n/a")  # the service's own message
        import json
        self.assertEqual(json.loads(request["body"]), {"temperature": 35, "door": "closed"})

        self.update_accepted(prefix("oven2"), {"state": {"reported": {"temperature": 20}}})  # not hot
        self.update_accepted(prefix("oven3"), {"state": {"reported": {"temperature": 31}}})
        self.assertEqual(self.hooks.take()["path"], "/alerts/oven3")  # oven2 was never posted
        self.assertEqual(self.metric("shadow_rule_matched_total", "hot"), 2)
        self.assertEqual(self.metric("shadow_rule_actions_executed_total", "hot"), 2)


if __name__ == "__main__":
    unittest.main()
