"""The connected state in the shadow (plugin_opt_presence_field): written
through the normal update path on connect and disconnect, never twice in a
row, with versions that only grow; for the client id's thing, or the bound
thing with thing_identity."""

import signal
import subprocess
import sys
import unittest

from shadowtest.cases import BrokerTestCase
from presence_case import PresenceCase, unique
from shadowtest.broker import Broker
from shadowtest.mqtt import Client, prefix
from test_lifecycle import DEVICE, password_file

OPTIONS = {"presence_field": "connected", "acl_fallback": "allow", "event_topics": "aws",
           "connect_detection": "connect"}


class PresenceField(PresenceCase, BrokerTestCase):
    broker_options = OPTIONS

    def observer(self, thing):
        """A client (not a thing: its id is no valid thing name) that sees
        every write of `thing`'s shadow."""
        p = prefix(thing)
        return self.client("observer:%s" % thing, p + "/update/documents", p + "/update/accepted",
                           p + "/get/accepted", p + "/get/rejected", client_id="observer:" + unique("o"))

    def next_write(self, observer, thing):
        """(version, connected) of the next presence write of `thing`."""
        doc = observer.take_json(prefix(thing) + "/update/documents")
        reported = doc["current"]["state"]["reported"]
        return doc["current"]["version"], reported["connected"]

    def assertNoWrite(self, observer, thing):
        observer.barrier(prefix(thing))
        self.assertEqual(observer.pending(prefix(thing) + "/update/documents"), [])

    def test_connect_disconnect_and_their_versions(self):
        thing = unique("dev")
        o = self.observer(thing)
        c = Client(self.broker.port, client_id=thing)
        self.assertEqual(self.next_write(o, thing), (1, True))
        c.close()
        self.assertEqual(self.next_write(o, thing), (2, False))
        doc = o.barrier(prefix(thing))
        self.assertEqual(doc["state"]["reported"], {"connected": False})
        # The time of the last change is the metadata timestamp of the field.
        self.assertTimestamp(doc["metadata"]["reported"]["connected"]["timestamp"])
        # A service write answers no one: no update/accepted was published.
        self.assertEqual(o.pending(prefix(thing) + "/update/accepted"), [])

    def test_device_updates_are_merged_with_presence(self):
        thing = unique("dev")
        o = self.observer(thing)
        c = Client(self.broker.port, client_id=thing)
        self.addCleanup(c.close)
        c.subscribe(prefix(thing) + "/update/accepted", prefix(thing) + "/update/rejected")
        self.assertEqual(self.next_write(o, thing), (1, True))
        outcome, doc = c.request(prefix(thing), "update", {"state": {"reported": {"temp": 21}}, "version": 1})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(doc["version"], 2)
        self.assertEqual(o.barrier(prefix(thing))["state"]["reported"], {"connected": True, "temp": 21})

    def test_takeover_writes_nothing(self):
        thing = unique("dev")
        o = self.observer(thing)
        first = Client(self.broker.port, client_id=thing)
        self.addCleanup(first.close)
        self.assertEqual(self.next_write(o, thing), (1, True))
        second = Client(self.broker.port, client_id=thing)
        # The thing never stopped being connected.
        second.subscribe(prefix(thing) + "/get/accepted", prefix(thing) + "/get/rejected")
        self.assertNoWrite(o, thing)
        second.close()
        self.assertEqual(self.next_write(o, thing), (2, False))

    def test_killed_and_stalled_clients(self):
        thing = unique("dev")
        o = self.observer(thing)
        device = subprocess.Popen([sys.executable, "-c", DEVICE, str(self.broker.port), thing])
        try:
            self.assertEqual(self.next_write(o, thing), (1, True))
        finally:
            device.send_signal(signal.SIGKILL)
            device.wait(timeout=10)
        self.assertEqual(self.next_write(o, thing), (2, False))
        c = Client(self.broker.port, client_id=thing, keepalive=2)
        self.addCleanup(c.close)
        self.assertEqual(self.next_write(o, thing), (3, True))
        c.stall()
        doc = o.take_json(prefix(thing) + "/update/documents", timeout=20)
        self.assertEqual((doc["current"]["version"], doc["current"]["state"]["reported"]["connected"]), (4, False))

    def test_clients_that_are_no_thing_write_nothing(self):
        c = Client(self.broker.port, client_id="not a thing name")  # spaces: no valid thing name
        c.close()
        self.assertTrue(self.broker.alive())


class Restart(PresenceCase):

    def test_restart_writes_disconnected(self):
        self.broker = Broker(options=OPTIONS)
        self.broker.start()
        self.addCleanup(self.broker.cleanup)
        thing = unique("dev")
        c = Client(self.broker.port, client_id=thing)
        p = prefix(thing)
        o = self.client("o", p + "/get/accepted", p + "/get/rejected", client_id="observer:" + unique("o"))
        self.assertEqual(o.barrier(p)["state"]["reported"], {"connected": True})
        o.close()
        self.broker.restart()
        c.close()
        o = self.client("o", p + "/get/accepted", p + "/get/rejected", client_id="observer:" + unique("o"))
        doc = o.barrier(p)
        self.assertEqual(doc["state"]["reported"], {"connected": False})
        self.assertEqual(doc["version"], 2)


class BoundThing(PresenceCase):
    """With thing_identity the bound thing is written, whatever the client
    id; admins are no thing."""

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(options=dict(OPTIONS, thing_identity="username", admin_usernames="console"))
        users = {"console": "pw", "meter-7": "pw"}
        cls.broker.extra.append("password_file " + password_file(cls.broker.dir, users))
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def test_bound_thing_is_written(self):
        admin = self.client("admin", "$aws/things/+/shadow/update/documents", "$aws/things/+/shadow/get/+",
                            username="console", password="pw")
        device = Client(self.broker.port, client_id=unique("any-id"), username="meter-7", password="pw")
        doc = admin.take_json(prefix("meter-7") + "/update/documents")
        self.assertEqual(doc["current"]["state"]["reported"], {"connected": True})
        device.close()
        doc = admin.take_json(prefix("meter-7") + "/update/documents")
        self.assertEqual(doc["current"]["state"]["reported"], {"connected": False})
        # The admin's own connection wrote nothing.
        outcome, _ = admin.request(prefix("console"), "get", b"")
        self.assertEqual(outcome, "rejected")
        self.assertEqual([m.topic for m in admin.pending() if "/update/documents" in m.topic], [])


if __name__ == "__main__":
    unittest.main()
