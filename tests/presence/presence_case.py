"""Helpers of the presence tests: a watcher of lifecycle events, and the
assertions on their documents."""

import json
import re
import time
import uuid

from shadowtest.cases import ShadowTestCase
from shadowtest.mqtt import Client

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CONNECTED_KEYS = ["clientId", "timestamp", "eventType", "sessionIdentifier", "principalIdentifier",
                  "ipAddress", "versionNumber"]
DISCONNECTED_KEYS = ["clientId", "timestamp", "eventType", "sessionIdentifier", "principalIdentifier",
                     "versionNumber"]
DISCONNECTED_WITH_REASON_KEYS = ["clientId", "timestamp", "eventType", "sessionIdentifier",
                                 "principalIdentifier", "clientInitiatedDisconnect", "disconnectReason",
                                 "versionNumber"]


def unique(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex[:8])


def ordered(payload):
    """The JSON object as a list of (key, value) in document order."""
    return json.loads(payload.decode("utf-8"), object_pairs_hook=list)


class Watcher:
    """A client subscribed to every lifecycle event. Its events arrive in
    the order the broker published them."""

    def __init__(self, port, **kwargs):
        self.port = port
        self.client = Client(port, "watcher", **kwargs)
        self.client.subscribe("$aws/events/#")

    def take(self, kind, client_id, timeout=10.0):
        """The next event of `kind` (connected, disconnected, subscribed,
        unsubscribed) about `client_id`, as a Message."""
        group = "presence" if kind in ("connected", "disconnected") else "subscriptions"
        return self.client.take_one("$aws/events/%s/%s/%s" % (group, kind, client_id), timeout)

    def sync(self):
        """Returns once every event the broker published before this call
        has arrived: a marker client connects and leaves, and its own
        events come after them."""
        marker = unique("marker")
        Client(self.port, client_id=marker).close()
        self.take("disconnected", marker)
        self.client.take_one("$aws/events/presence/connected/" + marker)

    def pending(self, client_id):
        return [m for m in self.client.pending() if m.topic.endswith("/" + client_id)]

    def close(self):
        self.client.close()


class PresenceCase(ShadowTestCase):

    def watcher(self, **kwargs):
        w = Watcher(self.broker.port, **kwargs)
        self.addCleanup(w.close)
        return w

    def assertConnectedEvent(self, message, client_id, principal=""):
        doc = ordered(message.payload)
        self.assertEqual([k for k, _ in doc], CONNECTED_KEYS, message)
        d = dict(doc)
        self.assertEqual(d["clientId"], client_id)
        self.assertEqual(d["eventType"], "connected")
        self.assertTimestampMs(d["timestamp"])
        self.assertRegex(d["sessionIdentifier"], UUID)
        self.assertEqual(d["principalIdentifier"], principal)
        self.assertEqual(d["ipAddress"], "127.0.0.1")
        self.assertIs(type(d["versionNumber"]), int)
        return d

    def assertDisconnectedEvent(self, message, connected, reason=None):
        """`connected`: the connected event of the same connection (a dict)."""
        doc = ordered(message.payload)
        keys = DISCONNECTED_WITH_REASON_KEYS if reason else DISCONNECTED_KEYS
        self.assertEqual([k for k, _ in doc], keys, message)
        d = dict(doc)
        self.assertEqual(d["eventType"], "disconnected")
        self.assertTimestampMs(d["timestamp"])
        self.assertGreaterEqual(d["timestamp"], connected["timestamp"])
        for same in ("clientId", "sessionIdentifier", "principalIdentifier", "versionNumber"):
            self.assertEqual(d[same], connected[same], same)
        if reason:
            self.assertIs(d["clientInitiatedDisconnect"], False)
            self.assertEqual(d["disconnectReason"], reason)
        return d

    def assertTimestampMs(self, value):
        self.assertIs(type(value), int, value)
        self.assertLess(abs(value - time.time() * 1000), 600 * 1000, "not epoch ms: %r" % value)
