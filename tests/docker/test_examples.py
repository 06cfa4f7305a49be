"""examples/device.js and examples/application.js (the stock
aws-iot-device-sdk-v2) against a real broker with the plugin, over plain TCP:
the reference scenario as the `examples` profile of docker/compose.yml runs
it. Needs `npm ci --prefix examples` (scripts/test.sh does it)."""

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from shadowtest import REPO
from shadowtest.broker import Broker
from shadowtest.cases import BrokerLogOnFailure
from shadowtest.mqtt import shadow_request

EXAMPLES = os.path.join(REPO, "examples")
NODE = shutil.which("node") or "node"
WAIT_S = 30.0


class Program:
    """A running example whose stdout lines are collected by a thread."""

    def __init__(self, script, *args):
        self.lines = []
        self._q = queue.Queue()
        self.proc = subprocess.Popen([NODE, os.path.join(EXAMPLES, script)] + list(args),
                                     cwd=EXAMPLES, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pattern, timeout=WAIT_S):
        """The first line (after those already seen) matching `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line matching %r within %.0f s; output:\n%s"
                                     % (pattern, timeout, "\n".join(self.lines)))
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("exited (%r) before a line matching %r; output:\n%s"
                                     % (self.proc.wait(), pattern, "\n".join(self.lines)))
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    def finish(self, timeout=WAIT_S):
        """Waits for the exit; returns (code, all output)."""
        code = self.proc.wait(timeout=timeout)
        while True:
            line = self._q.get(timeout=timeout)
            if line is None:
                break
            self.lines.append(line)
        self.proc.stdout.close()
        return code, "\n".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.finish()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


class Examples(BrokerLogOnFailure, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(os.path.join(EXAMPLES, "node_modules", "aws-iot-device-sdk-v2")):
            raise AssertionError("aws-iot-device-sdk-v2 is not installed: run npm ci --prefix examples")
        cls.broker = Broker()
        try:
            cls.broker.start()
        except BaseException:
            cls.broker.cleanup()
            raise
        cls.port = cls.broker.port

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def run_program(self, script, *args):
        p = Program(script, "--endpoint", "127.0.0.1", "--port", str(self.port), *args)
        self.addCleanup(p.kill)
        return p

    def shadow(self, thing):
        outcome, doc = shadow_request(self.port, thing, "get")
        self.assertEqual(outcome, "accepted", doc)
        return doc

    def test_reference_scenario_device_follows_the_application(self):
        thing = "example-ref"
        device = self.run_program("device.js", "--thing_name", thing)
        device.wait_for(r'reported \{"lights":"on","doors":"locked"\} -> version 1$')
        device.wait_for(r"waiting for deltas")

        app = self.run_program("application.js", "--thing_name", thing, "--timeout_s", "20")
        code, out = app.finish()
        self.assertEqual(code, 0, out)
        for pattern in [
            r'\[application\] %s reports \{"lights":"on","doors":"locked"\} \(version 1\)' % thing,
            r'\[application\] set desired \{"lights":"off"\} -> accepted, version 2',
            r'update/documents: version 1 -> version 2: desired \{"lights":"off"\}, '
            r'reported \{"lights":"on","doors":"locked"\}',
            r'update/documents: version 2 -> version 3: desired \{"lights":"off"\}, '
            r'reported \{"lights":"off","doors":"locked"\}',
            r'\[application\] %s follows: reported \{"lights":"off","doors":"locked"\} \(version 3\)' % thing,
        ]:
            self.assertRegex(out, pattern)

        device.wait_for(r'delta \{"lights":"off"\} \(version 2\)')
        device.wait_for(r'lights: "on" -> "off"')
        device.wait_for(r'reported \{"lights":"off"\} -> version 3$')
        code, out = device.stop()
        self.assertEqual(code, 0, out)
        self.assertIn("SIGTERM: disconnecting", out)

        # What the broker stored, read independently of the SDK.
        doc = self.shadow(thing)
        self.assertEqual(doc["version"], 3)
        self.assertEqual(doc["state"], {"desired": {"lights": "off"},
                                        "reported": {"lights": "off", "doors": "locked"}})

    def test_a_device_started_later_follows_the_stored_desired_state(self):
        thing = "example-late"
        outcome, _ = shadow_request(self.port, thing, "update",
                                    b'{"state":{"desired":{"lights":"off","doors":"unlocked"}}}')
        self.assertEqual(outcome, "accepted")
        device = self.run_program("device.js", "--thing_name", thing)
        device.wait_for(r'doors: "locked" -> "unlocked"')
        device.wait_for(r'reported \{[^}]*"doors":"unlocked"[^}]*\} -> version \d+$')
        code, out = device.stop()
        self.assertEqual(code, 0, out)
        doc = self.shadow(thing)
        self.assertEqual(doc["state"]["reported"], {"lights": "off", "doors": "unlocked"})
        self.assertNotIn("delta", doc["state"])

    def test_application_gives_up_when_no_device_reports(self):
        app = self.run_program("application.js", "--thing_name", "example-nobody", "--timeout_s", "2")
        code, out = app.finish()
        self.assertEqual(code, 1, out)
        self.assertIn("waiting for example-nobody to report its state", out)
        self.assertRegex(out, r"error: no report from example-nobody within 2 s")

    def test_bad_command_lines_exit_2(self):
        for script, args in [("device.js", ["--no-such-option"]),
                             ("application.js", ["--desired", "[1]"]),
                             ("device.js", ["--cert", "only-a-cert.pem"])]:
            code, out = Program(script, *args).finish()
            self.assertEqual(code, 2, "%s %s: %s" % (script, args, out))


if __name__ == "__main__":
    unittest.main()
