"""A small, synchronous-looking MQTT client for the integration tests
(paho-mqtt 1.6 API). Received messages are buffered; take() removes and
returns them in arrival order. Every wait is bounded."""

import itertools
import json
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt

DEFAULT_TIMEOUT_S = 10.0
_barrier_ids = itertools.count(1)


class Message:
    def __init__(self, topic, payload, retain, qos):
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.qos = qos

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        return "Message(%r, %r%s)" % (self.topic, self.payload[:300],
                                      ", retain" if self.retain else "")


def prefix(thing, shadow=None, form="aws"):
    """Topic prefix of a shadow: form 'aws' ($aws/things/...) or 'short'."""
    base = "%s/shadow" % thing if form == "short" else "$aws/things/%s/shadow" % thing
    return base if shadow is None else "%s/name/%s" % (base, shadow)


class Client:
    def __init__(self, broker, name, protocol=mqtt.MQTTv311, on_message=None):
        self.client_id = "%s-%s" % (name, uuid.uuid4().hex[:10])
        self._cond = threading.Condition()
        self._messages = []
        self._subacks = set()
        self._connect_rc = None
        self.disconnected = False
        self._hook = on_message
        if protocol == mqtt.MQTTv5:
            self._c = mqtt.Client(client_id=self.client_id, protocol=protocol)
        else:
            self._c = mqtt.Client(client_id=self.client_id, clean_session=True, protocol=protocol)
        self._c.on_connect = self._on_connect
        self._c.on_subscribe = self._on_subscribe
        self._c.on_message = self._on_message
        self._c.on_disconnect = self._on_disconnect
        self._c.connect("127.0.0.1", broker.port, keepalive=30)
        # paho leaves Nagle on; with delayed ACKs every round trip would take ~40 ms.
        self._c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._c.loop_start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._connect_rc is not None, DEFAULT_TIMEOUT_S):
                self.close()
                raise AssertionError("%s: no CONNACK" % self.client_id)
        if self._connect_rc != 0:
            self.close()
            raise AssertionError("%s: CONNACK rc=%r" % (self.client_id, self._connect_rc))

    # --- paho callbacks (network thread) ------------------------------------
    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self._cond:
            self._connect_rc = rc
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted_qos, properties=None):
        with self._cond:
            self._subacks.add(mid)
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        m = Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos)
        if self._hook is not None:
            self._hook(m)
            return
        with self._cond:
            self._messages.append(m)
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        with self._cond:
            self.disconnected = True
            self._cond.notify_all()

    # --- operations ---------------------------------------------------------
    def subscribe(self, *topics, qos=1):
        rc, mid = self._c.subscribe([(t, qos) for t in topics])
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("subscribe failed rc=%r" % rc)
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._subacks, DEFAULT_TIMEOUT_S):
                raise AssertionError("%s: no SUBACK for %r" % (self.client_id, topics))

    def publish(self, topic, payload, qos=1, retain=False, wait=True):
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, separators=(",", ":"))
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        if wait and qos > 0:
            info.wait_for_publish(timeout=DEFAULT_TIMEOUT_S)
            if not info.is_published():
                raise AssertionError("%s: publish to %s not acknowledged" % (self.client_id, topic))
        return info

    def take(self, topics, count=1, timeout=DEFAULT_TIMEOUT_S, match=None):
        """Remove and return the first `count` buffered messages whose topic is
        in `topics` (a string or a collection) and that satisfy `match`."""
        wanted = {topics} if isinstance(topics, str) else set(topics)

        def ok(m):
            return m.topic in wanted and (match is None or match(m))

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self._messages if ok(m)]
                if len(found) >= count:
                    found = found[:count]
                    for m in found:
                        self._messages.remove(m)
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        "%s: wanted %d message(s) on %s, got %d; buffered: %r"
                        % (self.client_id, count, sorted(wanted), len(found), self._messages[:20]))
                self._cond.wait(remaining)

    def take_one(self, topic, timeout=DEFAULT_TIMEOUT_S, match=None):
        return self.take(topic, 1, timeout, match)[0]

    def take_json(self, topic, timeout=DEFAULT_TIMEOUT_S):
        return self.take_one(topic, timeout).json()

    def pending(self, topics=None):
        """Buffered messages (optionally only on `topics`) without waiting."""
        wanted = None if topics is None else ({topics} if isinstance(topics, str) else set(topics))
        with self._cond:
            return [m for m in self._messages if wanted is None or m.topic in wanted]

    def clear(self):
        with self._cond:
            self._messages.clear()

    def barrier(self, shadow_prefix):
        """Send a get with a fresh clientToken on `shadow_prefix` and wait for
        its answer. The broker delivers messages to one connection in order, so
        anything caused by an earlier request has arrived once this returns.
        The client must be subscribed to <prefix>/get/accepted and /rejected.
        Returns the parsed answer."""
        token = "barrier-%d" % next(_barrier_ids)
        self.publish(shadow_prefix + "/get", {"clientToken": token})
        topics = [shadow_prefix + "/get/accepted", shadow_prefix + "/get/rejected"]
        return self.take_one(topics, match=lambda m: _token_of(m) == token).json()

    def close(self):
        try:
            self._c.disconnect()
        finally:
            self._c.loop_stop()


def _token_of(m):
    try:
        doc = m.json()
    except ValueError:
        return None
    return doc.get("clientToken") if isinstance(doc, dict) else None
