"""shadowctl watch: live MQTT events of one shadow, caused here by
shadowctl update over REST."""

import json
import selectors
import subprocess
import time
import unittest

from ctl_case import CtlTestCase, EXIT_CONNECTION, EXIT_OK, EXIT_TIMEOUT, RUN_TIMEOUT_S, clean_env, shadowctl_path
from shadowtest.broker import free_port
from shadowtest.mqtt import Client, prefix

READY_TIMEOUT_S = 20


class Watch(CtlTestCase):

    def start_watch(self, *args):
        """Starts `shadowctl watch ...` and waits until it reports its
        subscriptions confirmed (the 'watching' line on stderr)."""
        cmd = [shadowctl_path(), "watch", "--mqtt-port", str(self.broker.port)] + list(args)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=clean_env())
        self.addCleanup(self._reap, proc)
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + READY_TIMEOUT_S
        seen = b""
        while time.monotonic() < deadline and b"watching" not in seen:
            if sel.select(timeout=0.2):
                chunk = proc.stderr.read1(4096)
                if not chunk:
                    break
                seen += chunk
        sel.close()
        self.assertIn(b"watching", seen, "watch did not get ready; exit %r" % proc.poll())
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()

    def test_json_events_caused_by_an_update(self):
        t = self.thing()
        self.ctl_json("update", t, "--reported", '{"lights":"off"}')
        proc = self.start_watch(t, "--json", "--count", "2", "--timeout", "60")
        p = prefix(t)
        mqtt = Client(self.broker.port, "check")
        self.addCleanup(mqtt.close)
        mqtt.subscribe(p + "/update/delta", p + "/update/documents")

        self.ctl_json("update", t, "--desired", '{"lights":"on"}')
        out, _err = proc.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, EXIT_OK)
        events = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual(len(events), 2, events)
        for e in events:
            self.assertTrue(e["topic"].startswith(p + "/update/"), e)
            self.assertEqual(e["topic"], p + "/" + e["event"])
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # The first two messages of an update are accepted, then delta or
        # documents; which of the last two comes first is not promised, so
        # the second is compared with what an MQTT subscriber received.
        self.assertEqual(events[0]["event"], "update/accepted")
        self.assertEqual(events[0]["payload"]["state"], {"desired": {"lights": "on"}})
        delta = mqtt.take_json(p + "/update/delta")
        documents = mqtt.take_json(p + "/update/documents")
        self.assertEqual(delta["state"], {"lights": "on"})
        self.assertEqual(documents["current"]["version"], 2)
        seen = {"update/delta": delta, "update/documents": documents}
        self.assertIn(events[1]["event"], seen)
        self.assertEqual(events[1]["payload"], seen[events[1]["event"]])

    def test_readable_events_of_a_named_shadow(self):
        t = self.thing()
        proc = self.start_watch(t, "--shadow", "cfg", "--count", "3", "--timeout", "60")
        self.ctl_json("update", t, "--shadow", "cfg", "--desired", '{"fan":3}')
        out, _err = proc.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, EXIT_OK)
        text = out.decode()
        for event in ("update/accepted", "update/delta", "update/documents"):
            self.assertIn(event, text)
        self.assertIn('"fan": 3', text)
        self.assertNotIn("\033[", text)  # not a terminal: no colors

    def test_other_shadows_are_not_shown(self):
        t = self.thing()
        proc = self.start_watch(t, "--json", "--count", "1", "--timeout", "60")
        self.ctl_json("update", t, "--shadow", "other", "--desired", '{"x":1}')
        self.ctl_json("update", t + "x", "--desired", '{"x":1}')
        self.ctl_json("delete", t + "x")
        self.ctl_json("update", t, "--reported", '{"mine":1}')
        out, _err = proc.communicate(timeout=RUN_TIMEOUT_S)
        events = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["payload"]["state"], {"reported": {"mine": 1}})

    def test_timeout_before_count_exits_7(self):
        proc = self.start_watch(self.thing(), "--count", "1", "--timeout", "0.5")
        _out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, EXIT_TIMEOUT, err)
        self.assertIn(b"--timeout", err)

    def test_timeout_without_count_exits_0(self):
        proc = self.start_watch(self.thing(), "--timeout", "0.3")
        proc.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, EXIT_OK)

    def test_no_mqtt_broker_exits_6(self):
        proc = self.ctl("watch", "t", "--mqtt-port", str(free_port()), "--timeout", "5",
                        endpoint=False, expect=EXIT_CONNECTION)
        self.assertIn("cannot watch over MQTT", proc.stderr)


if __name__ == "__main__":
    unittest.main()
