"""The MQTT client of the tests (paho-mqtt 1.6, Debian's python3-paho-mqtt).

Calls look synchronous: connect, subscribe and QoS 1 publishes wait for the
broker's acknowledgement, and what the broker answered is returned (the
SUBACK code of each filter, the MQTT 5 PUBACK reason code). Received messages
are buffered in arrival order; take() removes and returns them. Every wait is
bounded.

Proving that something did NOT arrive: the broker delivers the messages of
one connection in the order it queued them, so once an answer to a later
request has arrived, anything caused by an earlier one has arrived too.
barrier() (a shadow get on the same connection) and echo_barrier() (a message
the client publishes to itself) are such later requests; check pending()
after them.
"""

import itertools
import json
import socket
import ssl
import struct
import threading
import time
import uuid

import paho.mqtt.client as mqtt

TIMEOUT_S = 10.0
V311 = mqtt.MQTTv311
V5 = mqtt.MQTTv5
SUBACK_FAILURE = {V311: 0x80, V5: 0x87}  # 0x87: Not authorized
PUBACK_NOT_AUTHORIZED = 0x87

_tokens = itertools.count(1)


class ConnectRefused(Exception):
    """No CONNACK, or a CONNACK with a non-zero code."""


def prefix(thing, shadow=None, form="aws"):
    """Topic prefix of a shadow: form 'aws' ($aws/things/...) or 'short'."""
    base = "%s/shadow" % thing if form == "short" else "$aws/things/%s/shadow" % thing
    return base if shadow is None else "%s/name/%s" % (base, shadow)


def new_token(tag="t"):
    """A clientToken unique in this process."""
    return "%s-%d-%s" % (tag, next(_tokens), uuid.uuid4().hex[:6])


def token_of(m):
    """The clientToken of a message's JSON document, or None."""
    try:
        doc = m.json()
    except ValueError:
        return None
    return doc.get("clientToken") if isinstance(doc, dict) else None


class Message:
    def __init__(self, topic, payload, retain=False, qos=0, arrival=0):
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.qos = qos
        self.arrival = arrival  # position among the packets this client received (see Client)

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        return "Message(%r, %r%s)" % (self.topic, self.payload[:300],
                                      ", retain" if self.retain else "")


class _Paho(mqtt.Client):
    """paho 1.6 drops the reason code of a v5 PUBACK; keep it."""

    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet["packet"]
        if len(packet) >= 2:
            mid = struct.unpack("!H", packet[:2])[0]
            code = packet[2] if (self._protocol == V5 and len(packet) > 2) else 0
            self.puback_codes[mid] = code
        return super()._handle_pubackcomp(cmd)


def _code(value):
    """An int from paho's int-or-ReasonCodes values."""
    return value if isinstance(value, int) else value.value


class Client:
    def __init__(self, port, name="c", client_id=None, username=None, password=None,
                 protocol=V311, tls=None, will=None, on_message=None,
                 connect_timeout=TIMEOUT_S, keepalive=30, clean_session=True):
        """Connects to 127.0.0.1:`port` and waits for the CONNACK; raises
        ConnectRefused without one or on a refusal.

        client_id: sent as given (thing binding by client id needs that);
            default `name` plus a random suffix.
        tls: None, or a dict with 'ca' and optionally 'cert' and 'key'.
        will: None, or (topic, payload): a Last Will at QoS 1.
        on_message: called with each Message on paho's thread instead of
            buffering it (for clients that count answers as they come).
        keepalive: seconds; clean_session: False keeps the session (MQTT
            3.1.1) or asks for one that outlives the connection (MQTT 5).

        Received messages and SUBACKs are numbered in arrival order
        (Message.arrival, suback_arrival()), so a test can tell which came
        first."""
        self.client_id = client_id or "%s-%s" % (name, uuid.uuid4().hex[:10])
        self.protocol = protocol
        self.disconnected = False
        self._cond = threading.Condition()
        self._messages = []
        self._subacks = {}
        self._suback_arrivals = {}
        self._arrivals = 0
        self._last_suback_arrival = None
        self._connect_rc = None
        self._hook = on_message
        self._dropped = False
        self._connect_properties = None
        if protocol == V5:
            self._c = _Paho(client_id=self.client_id, protocol=V5)
            if not clean_session:
                from paho.mqtt.packettypes import PacketTypes
                from paho.mqtt.properties import Properties
                self._connect_properties = Properties(PacketTypes.CONNECT)
                self._connect_properties.SessionExpiryInterval = 3600
        else:
            self._c = _Paho(client_id=self.client_id, clean_session=clean_session, protocol=protocol)
        self._c.puback_codes = {}
        if username is not None:
            self._c.username_pw_set(username, password)
        if tls is not None:
            self._c.tls_set(ca_certs=tls["ca"], certfile=tls.get("cert"), keyfile=tls.get("key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will is not None:
            self._c.will_set(will[0], will[1], qos=1)
        self._c.on_connect = self._on_connect
        self._c.on_subscribe = self._on_subscribe
        self._c.on_message = self._on_message
        self._c.on_disconnect = self._on_disconnect
        if protocol == V5:
            self._c.connect("127.0.0.1", port, keepalive=keepalive, clean_start=clean_session,
                            properties=self._connect_properties)
        else:
            self._c.connect("127.0.0.1", port, keepalive=keepalive)
        # paho leaves Nagle on; with delayed ACKs every round trip would take ~40 ms.
        self._c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._c.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._connect_rc is not None or self.disconnected,
                                connect_timeout)
            rc = self._connect_rc
        if rc != 0:
            self.close()
            if rc is None:
                raise ConnectRefused("%s: no CONNACK from 127.0.0.1:%d%s" % (
                    self.client_id, port, " (connection closed)" if self.disconnected else ""))
            raise ConnectRefused("%s: CONNACK %r" % (self.client_id, rc))

    # --- paho callbacks (network thread) ------------------------------------
    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self._cond:
            self._connect_rc = _code(rc)
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self._cond:
            self._arrivals += 1
            self._subacks[mid] = [_code(g) for g in granted]
            self._suback_arrivals[mid] = self._arrivals
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self._arrivals += 1
            arrival = self._arrivals
        m = Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos, arrival)
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
    def subscribe(self, *filters, qos=1):
        """Returns the SUBACK code of each filter (the granted QoS on success)."""
        rc, mid = self._c.subscribe([(f, qos) for f in filters])
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError("subscribe failed rc=%r" % rc)
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._subacks, TIMEOUT_S):
                raise AssertionError("%s: no SUBACK for %r" % (self.client_id, filters))
            self._last_suback_arrival = self._suback_arrivals.pop(mid)
            return self._subacks.pop(mid)

    def suback_arrival(self):
        """The arrival number of the SUBACK the last subscribe() got."""
        return self._last_suback_arrival

    def unsubscribe(self, *filters):
        """Unsubscribes and waits (bounded) for the UNSUBACK."""
        done = threading.Event()
        self._c.on_unsubscribe = lambda *args: done.set()
        rc, _mid = self._c.unsubscribe(list(filters))
        if rc != mqtt.MQTT_ERR_SUCCESS or not done.wait(TIMEOUT_S):
            raise AssertionError("%s: no UNSUBACK for %r" % (self.client_id, filters))

    def publish(self, topic, payload, qos=1, retain=False, wait=True):
        """Publishes (a dict or list goes as compact JSON). With `wait`,
        returns once acknowledged: the PUBACK reason code (always 0 for MQTT
        3.1.1, which has none, and for QoS 0). Without, returns None."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload, separators=(",", ":"))
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        if not wait:
            return None
        if qos == 0:
            return 0
        info.wait_for_publish(timeout=TIMEOUT_S)
        if not info.is_published():
            raise AssertionError("%s: publish to %s not acknowledged" % (self.client_id, topic))
        return self._c.puback_codes.pop(info.mid, 0)

    def take(self, topics, count=1, timeout=TIMEOUT_S, match=None):
        """Removes and returns the first `count` buffered messages whose topic
        is in `topics` (a string or a collection) and that satisfy `match`,
        waiting up to `timeout` for them."""
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

    def take_one(self, topics, timeout=TIMEOUT_S, match=None):
        return self.take(topics, 1, timeout, match)[0]

    def take_json(self, topic, timeout=TIMEOUT_S):
        return self.take_one(topic, timeout).json()

    def pending(self, topics=None):
        """Buffered messages (optionally only on `topics`) without waiting."""
        wanted = None if topics is None else ({topics} if isinstance(topics, str) else set(topics))
        with self._cond:
            return [m for m in self._messages if wanted is None or m.topic in wanted]

    def clear(self):
        with self._cond:
            self._messages.clear()

    # --- request/response ---------------------------------------------------
    def request(self, shadow_prefix, op, payload=b"", token=None, timeout=TIMEOUT_S):
        """Publishes a shadow request on <shadow_prefix>/<op> and returns
        (outcome, document) of its answer, outcome 'accepted' or 'rejected'.
        The client must be subscribed to the answer topics (or a wider
        filter). With `token`, it goes into the payload (a dict) as
        clientToken and the answer carrying it is taken, whatever else
        arrives; without, the payload is sent as it is and the first answer
        is taken."""
        if token is not None:
            payload = dict(payload or {}, clientToken=token)

        def ours(m):
            return token is None or token_of(m) == token

        self.publish(shadow_prefix + "/" + op, payload)
        answer = self.take_one([shadow_prefix + "/%s/accepted" % op,
                                shadow_prefix + "/%s/rejected" % op], timeout, ours)
        return answer.topic.rsplit("/", 1)[1], answer.json()

    def barrier(self, shadow_prefix):
        """A get with a fresh clientToken on `shadow_prefix`, waiting for its
        answer: anything caused by an earlier request of this shadow has
        arrived once this returns. The client must be subscribed to
        <prefix>/get/accepted and /rejected. Returns the answer document."""
        return self.request(shadow_prefix, "get", {}, token=new_token("barrier"))[1]

    def echo_barrier(self, topic):
        """Publishes a unique payload on `topic`, which this client must be
        subscribed to, and waits for it to come back: every message the
        broker queued for this client before has arrived once this returns
        (retained messages of an earlier SUBSCRIBE included)."""
        payload = new_token("echo").encode()
        self.publish(topic, payload)
        self.take_one(topic, match=lambda m: m.payload == payload)

    # --- closing ------------------------------------------------------------
    def stall(self):
        """Stops answering without closing the connection, as a device that
        hangs would: no more PINGREQs, so the broker ends the connection
        once the keep-alive has passed (Will included). close() still works."""
        self._c.loop_stop()
        self._dropped = True

    def drop(self):
        """Closes the TCP connection without DISCONNECT, as a device losing
        its network would: the broker then publishes the Will."""
        self._dropped = True
        self._c.loop_stop()
        self._c.socket().shutdown(socket.SHUT_RDWR)
        self._c.socket().close()

    def close(self):
        try:
            if not self._dropped:
                self._c.disconnect()
            elif self._c.socket() is not None:
                self._c.socket().close()  # a stalled client's connection
        finally:
            self._c.loop_stop()


def shadow_request(port, thing, op, payload=b"", tls=None, client_id=None,
                   connect_timeout=TIMEOUT_S):
    """One request to the classic shadow of `thing` ($aws form) on a fresh
    connection; returns (outcome, document). tls: as for Client."""
    p = prefix(thing)
    c = Client(port, "one-shot", client_id=client_id, tls=tls, connect_timeout=connect_timeout)
    try:
        c.subscribe(p + "/%s/accepted" % op, p + "/%s/rejected" % op)
        return c.request(p, op, payload)
    finally:
        c.close()
