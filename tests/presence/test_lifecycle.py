"""Lifecycle events in AWS's format (plugin_opt_lifecycle_events true):
connected and disconnected for a clean disconnect, a killed client, a
keep-alive expiry, a takeover by the same client id and a broker restart;
subscribed and unsubscribed; who may publish and read them."""

import os
import signal
import subprocess
import sys
import textwrap
import unittest

from shadowtest.cases import BrokerTestCase
from presence_case import PresenceCase, Watcher, ordered, unique
from shadowtest.broker import Broker
from shadowtest.mqtt import PUBACK_NOT_AUTHORIZED, SUBACK_FAILURE, V5, Client

# Connections seen at CONNECT: the test clients send no username (or one a
# password_file vouches for).
OPTIONS = {"lifecycle_events": "true", "acl_fallback": "allow", "connect_detection": "connect"}

# A device in its own process, so that it can be killed with SIGKILL.
DEVICE = textwrap.dedent("""
    import sys, time
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=sys.argv[2], clean_session=True)
    c.will_set("devices/%s/status" % sys.argv[2], b"offline", qos=1)
    c.connect("127.0.0.1", int(sys.argv[1]), keepalive=30)
    c.loop_forever()
""")


class LifecycleEvents(PresenceCase, BrokerTestCase):
    broker_options = OPTIONS

    def test_clean_disconnect(self):
        w = self.watcher()
        cid = unique("clean")
        c = Client(self.broker.port, client_id=cid, will=("devices/%s/status" % cid, b"offline"))
        up = self.assertConnectedEvent(w.take("connected", cid), cid)
        c.close()
        # Mosquitto 2.0.11 does not say why a connection ended; a clean
        # DISCONNECT discards the Will, so there is no sign of a loss either.
        self.assertDisconnectedEvent(w.take("disconnected", cid), up)

    def test_killed_client(self):
        w = self.watcher()
        cid = unique("killed")
        device = subprocess.Popen([sys.executable, "-c", DEVICE, str(self.broker.port), cid])
        try:
            up = self.assertConnectedEvent(w.take("connected", cid), cid)
        finally:
            device.send_signal(signal.SIGKILL)
            device.wait(timeout=10)
        # The broker publishes the Will of a connection that ended without
        # DISCONNECT: that is the sign of a lost connection.
        self.assertDisconnectedEvent(w.take("disconnected", cid), up, reason="CONNECTION_LOST")

    def test_keepalive_expiry(self):
        w = self.watcher()
        cid = unique("stalled")
        c = Client(self.broker.port, client_id=cid, keepalive=2, will=("devices/%s/status" % cid, b"offline"))
        self.addCleanup(c.close)
        up = self.assertConnectedEvent(w.take("connected", cid), cid)
        c.stall()
        # 1.5 x the keep-alive, plus Mosquitto's check interval.
        down = w.take("disconnected", cid, timeout=20)
        self.assertDisconnectedEvent(down, up, reason="CONNECTION_LOST")

    def test_takeover_by_the_same_client_id(self):
        w = self.watcher()
        cid = unique("twin")
        first = Client(self.broker.port, client_id=cid)
        self.addCleanup(first.close)
        up1 = self.assertConnectedEvent(w.take("connected", cid), cid)
        second = Client(self.broker.port, client_id=cid)
        down1 = w.take("disconnected", cid)
        up2 = w.take("connected", cid)
        # The old connection's end is published before the new one's start.
        self.assertLess(down1.arrival, up2.arrival)
        self.assertDisconnectedEvent(down1, up1, reason="DUPLICATE_CLIENTID")
        up2 = self.assertConnectedEvent(up2, cid)
        self.assertGreater(up2["versionNumber"], up1["versionNumber"])
        self.assertNotEqual(up2["sessionIdentifier"], up1["sessionIdentifier"])
        # Nothing else about this client id: no late "disconnected".
        w.sync()
        self.assertEqual(w.pending(cid), [])
        second.close()
        self.assertDisconnectedEvent(w.take("disconnected", cid), up2)

    def test_versions_increase_across_connections(self):
        w = self.watcher()
        cid = unique("again")
        versions = []
        for _ in range(3):
            Client(self.broker.port, client_id=cid).close()
            versions.append(self.assertConnectedEvent(w.take("connected", cid), cid)["versionNumber"])
            w.take("disconnected", cid)
        self.assertEqual(versions, sorted(set(versions)))
        self.assertEqual(len(versions), 3)

    def test_subscribed_and_unsubscribed(self):
        w = self.watcher()
        cid = unique("subscriber")
        c = Client(self.broker.port, client_id=cid)
        self.addCleanup(c.close)
        up = self.assertConnectedEvent(w.take("connected", cid), cid)
        c.subscribe("sensors/+/temperature", "$aws/things/%s/shadow/update/delta" % cid)
        doc = ordered(w.take("subscribed", cid).payload)
        self.assertEqual([k for k, _ in doc], ["clientId", "timestamp", "eventType", "sessionIdentifier",
                                               "principalIdentifier", "topics"])
        d = dict(doc)
        self.assertEqual(d["eventType"], "subscribed")
        self.assertEqual(d["sessionIdentifier"], up["sessionIdentifier"])
        self.assertEqual(d["topics"], ["sensors/+/temperature", "$aws/things/%s/shadow/update/delta" % cid])
        c.unsubscribe("sensors/+/temperature")
        d = dict(ordered(w.take("unsubscribed", cid).payload))
        self.assertEqual(d["eventType"], "unsubscribed")
        self.assertEqual(d["topics"], ["sensors/+/temperature"])

    def test_clients_cannot_publish_events(self):
        w = self.watcher()
        cid = unique("forger")
        c = Client(self.broker.port, client_id=cid, protocol=V5)
        self.addCleanup(c.close)
        w.take("connected", cid)
        code = c.publish("$aws/events/presence/disconnected/" + cid, {"clientId": cid})
        self.assertEqual(code, PUBACK_NOT_AUTHORIZED)
        w.sync()
        self.assertEqual(w.pending(cid), [])
        self.assertTrue(self.broker.wait_for_log("denied publish to '$aws/events/presence/disconnected/%s'" % cid))


class Restart(PresenceCase):
    """A broker that stops sends no disconnect events: the next start
    reports the clients it left connected."""

    def setUp(self):
        # Mosquitto's own persistence keeps the watcher's session (and the
        # events queued for it) across the restart.
        self.broker = Broker(options=OPTIONS, extra=["persistence true", "autosave_interval 1"])
        self.broker.extra.append("persistence_location %s/" % self.broker.dir)
        self.broker.start()
        self.addCleanup(self.broker.cleanup)

    def test_restart_reports_connected_clients_disconnected(self):
        watcher_id = unique("watcher")
        w = Watcher(self.broker.port, client_id=watcher_id, clean_session=False)
        cid = unique("device")
        c = Client(self.broker.port, client_id=cid)
        up = self.assertConnectedEvent(w.take("connected", cid), cid)
        w.close()
        self.broker.restart()
        c.close()
        w = Watcher(self.broker.port, client_id=watcher_id, clean_session=False)
        self.addCleanup(w.close)
        down = w.take("disconnected", cid)
        self.assertDisconnectedEvent(down, up, reason="SERVER_INITIATED_DISCONNECT")
        # And the next connection continues the version numbers.
        Client(self.broker.port, client_id=cid).close()
        again = self.assertConnectedEvent(w.take("connected", cid), cid)
        self.assertGreater(again["versionNumber"], up["versionNumber"])


def password_file(directory, users):
    """A Mosquitto password_file with `users` ({name: password})."""
    path = os.path.join(directory, "passwords")
    for i, (user, password) in enumerate(sorted(users.items())):
        args = ["mosquitto_passwd", "-b", path, user, password]
        if i == 0:
            args.insert(1, "-c")
        subprocess.run(args, check=True, capture_output=True, timeout=30)
    return path


class BoundClients(PresenceCase):
    """With thing binding, a device reads only its own events; admins read
    all. (A password_file authenticates the admin: with the CONNECT hook,
    Mosquitto refuses usernames nothing vouches for.)"""

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(options=dict(OPTIONS, thing_identity="client_id", admin_usernames="console"))
        cls.broker.extra.append("password_file " + password_file(cls.broker.dir, {"console": "pw-console"}))
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def test_device_reads_its_own_events_only(self):
        dev = unique("dev")
        other = unique("dev")
        device = Client(self.broker.port, client_id=dev)
        self.addCleanup(device.close)
        self.assertEqual(device.subscribe("$aws/events/#"), [SUBACK_FAILURE[device.protocol]])
        self.assertEqual(device.subscribe("$aws/events/presence/connected/+"), [SUBACK_FAILURE[device.protocol]])
        self.assertEqual(device.subscribe("$aws/events/subscriptions/+/" + dev), [1])
        # A broad filter is granted, but each delivery is checked.
        self.assertEqual(device.subscribe("$aws/+/presence/connected/+"), [1])
        admin = self.watcher(username="console", password="pw-console")
        Client(self.broker.port, client_id=other).close()
        admin.take("disconnected", other)
        device.subscribe("$aws/things/%s/shadow/get/accepted" % dev)  # a subscribed event about dev
        # It reads its own subscribed events: the ones about its earlier
        # subscriptions, then this one.
        own = device.take("$aws/events/subscriptions/subscribed/" + dev, 3)
        self.assertEqual([dict(ordered(m.payload))["topics"] for m in own],
                         [["$aws/events/subscriptions/+/" + dev], ["$aws/+/presence/connected/+"],
                          ["$aws/things/%s/shadow/get/accepted" % dev]])
        admin.sync()
        device.subscribe("$aws/things/%s/shadow/get/rejected" % dev)
        device.barrier("$aws/things/%s/shadow" % dev)
        self.assertEqual([p for p in device.pending() if other in p.topic], [])


class ConnectDetection(PresenceCase):
    """connect_detection connect sees clients at CONNECT; a username nothing
    vouches for is refused, and the log says why. connect_detection
    activity (the default) sees them at their first publish or subscription
    instead, and leaves the username check alone."""

    def start(self, **options):
        self.broker = Broker(options=dict(OPTIONS, **options))
        self.broker.start()
        self.addCleanup(self.broker.cleanup)

    def test_connect_refuses_unvouched_usernames(self):
        from shadowtest.mqtt import ConnectRefused
        self.start(connect_detection="connect")
        with self.assertRaises(ConnectRefused):
            Client(self.broker.port, username="nobody-vouches")
        self.assertTrue(self.broker.wait_for_log("set plugin_opt_connect_detection activity"))
        Client(self.broker.port).close()  # without a username: allow_anonymous decides

    def test_activity(self):
        self.start(connect_detection="activity")
        w = self.watcher(username="anyone")
        idle = Client(self.broker.port, client_id=unique("idle"), username="x")  # never seen: no activity
        idle.close()
        cid = unique("lazy")
        c = Client(self.broker.port, client_id=cid, username="dev")
        self.addCleanup(c.close)
        c.subscribe("a/b")
        up = self.assertConnectedEvent(w.take("connected", cid), cid, principal="dev")
        self.assertEqual(dict(ordered(w.take("subscribed", cid).payload))["topics"], ["a/b"])
        c.close()
        self.assertDisconnectedEvent(w.take("disconnected", cid), up)
        w.client.subscribe("x/y")  # the watcher's own activity makes a later event to wait for
        w.take("subscribed", w.client.client_id)
        self.assertEqual([m.topic for m in w.client.pending() if "idle-" in m.topic], [])

    def test_activity_is_the_default(self):
        self.start(connect_detection="activity")
        self.broker.stop()
        self.broker.options.pop("connect_detection")
        self.broker.start()
        self.assertFalse("presence sees each CONNECT" in self.broker.log())
        Client(self.broker.port, username="anyone").close()  # not refused


class OptionsOff(PresenceCase):
    """Without lifecycle events $aws/events is an ordinary topic, and the
    plugin takes no part in the username check."""

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker()
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def test_events_topics_are_ordinary(self):
        c = self.client("plain", "$aws/events/#", protocol=V5, username="anyone")
        self.assertEqual(c.publish("$aws/events/presence/connected/x", b"hello"), 0)
        self.assertEqual(c.take_one("$aws/events/presence/connected/x").payload, b"hello")


if __name__ == "__main__":
    unittest.main()
