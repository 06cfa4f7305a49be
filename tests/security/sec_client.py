"""MQTT client and base test case for the security tests (paho-mqtt 1.6).

Unlike tests/integration/mqtt_client.py, this client keeps the exact client
id it is given (thing binding by client id needs it), can send a username
and password, can use TLS client certificates, and reports what the broker
answered: the SUBACK code of every filter and, for MQTT 5, the PUBACK reason
code. Every wait is bounded.
"""

import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import unittest
import uuid

import paho.mqtt.client as mqtt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from broker import Broker  # noqa: E402,F401  (re-exported)

TIMEOUT_S = 10.0
V311 = mqtt.MQTTv311
V5 = mqtt.MQTTv5
SUBACK_FAILURE = {V311: 0x80, V5: 0x87}  # 0x87: Not authorized
PUBACK_NOT_AUTHORIZED = 0x87


class ConnectRefused(Exception):
    pass


class _Paho(mqtt.Client):
    """paho 1.6 drops the reason code of a v5 PUBACK; keep it."""

    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet["packet"]
        if len(packet) >= 2:
            mid = struct.unpack("!H", packet[:2])[0]
            code = packet[2] if (self._protocol == V5 and len(packet) > 2) else 0
            self.puback_codes[mid] = code
        return super()._handle_pubackcomp(cmd)


def prefix(thing, shadow=None, form="aws"):
    base = "%s/shadow" % thing if form == "short" else "$aws/things/%s/shadow" % thing
    return base if shadow is None else "%s/name/%s" % (base, shadow)


class Message:
    def __init__(self, topic, payload):
        self.topic = topic
        self.payload = payload

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        return "Message(%r, %r)" % (self.topic, self.payload[:200])


class SecClient:
    def __init__(self, port, client_id=None, username=None, password=None, protocol=V311,
                 tls=None):
        """tls: None, or a dict with 'ca' and optionally 'cert' and 'key'."""
        self.client_id = client_id or "c-" + uuid.uuid4().hex[:10]
        self.protocol = protocol
        self._cond = threading.Condition()
        self._messages = []
        self._subacks = {}
        self._connect_rc = None
        if protocol == V5:
            self._c = _Paho(client_id=self.client_id, protocol=V5)
        else:
            self._c = _Paho(client_id=self.client_id, clean_session=True, protocol=V311)
        self._c.puback_codes = {}
        if username is not None:
            self._c.username_pw_set(username, password)
        if tls is not None:
            self._c.tls_set(ca_certs=tls["ca"], certfile=tls.get("cert"), keyfile=tls.get("key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._c.on_connect = self._on_connect
        self._c.on_subscribe = self._on_subscribe
        self._c.on_message = self._on_message
        self._c.connect("127.0.0.1", port, keepalive=30)
        self._c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._c.loop_start()
        with self._cond:
            got = self._cond.wait_for(lambda: self._connect_rc is not None, TIMEOUT_S)
        if not got or self._connect_rc != 0:
            self.close()
            raise ConnectRefused("%s: CONNACK %r" % (self.client_id, self._connect_rc))

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self._cond:
            self._connect_rc = rc if isinstance(rc, int) else rc.value
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        codes = [g if isinstance(g, int) else g.value for g in granted]
        with self._cond:
            self._subacks[mid] = codes
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self._messages.append(Message(msg.topic, bytes(msg.payload)))
            self._cond.notify_all()

    def subscribe(self, *filters, qos=1):
        """Returns the SUBACK code of each filter (the granted QoS on success)."""
        rc, mid = self._c.subscribe([(f, qos) for f in filters])
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("subscribe failed rc=%r" % rc)
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._subacks, TIMEOUT_S):
                raise AssertionError("%s: no SUBACK for %r" % (self.client_id, filters))
            return self._subacks.pop(mid)

    def publish(self, topic, payload, qos=1, retain=False):
        """Publishes and waits for the acknowledgement (QoS 1/2). Returns the
        PUBACK reason code (always 0 for MQTT 3.1.1, which has none)."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, separators=(",", ":"))
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0:
            return 0
        info.wait_for_publish(timeout=TIMEOUT_S)
        if not info.is_published():
            raise AssertionError("%s: publish to %s not acknowledged" % (self.client_id, topic))
        return self._c.puback_codes.pop(info.mid, 0)

    def take(self, topics, timeout=TIMEOUT_S, match=None):
        wanted = {topics} if isinstance(topics, str) else set(topics)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self._messages:
                    if m.topic in wanted and (match is None or match(m)):
                        self._messages.remove(m)
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("%s: nothing on %s; buffered: %r"
                                         % (self.client_id, sorted(wanted), self._messages[:20]))
                self._cond.wait(remaining)

    def messages(self):
        with self._cond:
            return list(self._messages)

    def clear(self):
        with self._cond:
            self._messages.clear()

    def close(self):
        try:
            self._c.disconnect()
        finally:
            self._c.loop_stop()


def token_of(m):
    try:
        doc = m.json()
    except ValueError:
        return None
    return doc.get("clientToken") if isinstance(doc, dict) else None


class SecurityCase(unittest.TestCase):
    """One broker per class: subclasses set OPTIONS (plugin options) and
    EXTRA (mosquitto.conf lines for the test listener)."""

    OPTIONS = {}
    EXTRA = []

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(options=cls.OPTIONS, extra=cls.extra_lines()).start()

    @classmethod
    def extra_lines(cls):
        return list(cls.EXTRA)

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def tearDown(self):
        if not self.broker.alive():
            sys.stderr.write("\n--- broker log ---\n%s\n" % self.broker.log()[-6000:])

    def connect(self, client_id=None, **kw):
        c = SecClient(self.broker.port, client_id, **kw)
        self.addCleanup(c.close)
        return c

    def request(self, client, p, op, payload=None, token=None):
        """Publishes a request and returns (outcome, document) of its reply;
        `client` must be subscribed to <p>/<op>/+ (or a wider filter)."""
        token = token or "t-" + uuid.uuid4().hex[:8]
        body = dict(payload or {})
        body["clientToken"] = token
        client.publish(p + "/" + op, body)
        m = client.take([p + "/%s/accepted" % op, p + "/%s/rejected" % op],
                        match=lambda m: token_of(m) == token)
        return m.topic.rsplit("/", 1)[1], m.json()

    def assert_broker_alive(self):
        self.assertTrue(self.broker.alive(), self.broker.log()[-3000:])
