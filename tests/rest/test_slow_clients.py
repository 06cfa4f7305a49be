"""Slow and idle HTTP clients cannot take /healthz down. Connections that
send one byte of a request head every 1.5 s used to hold a server thread
each, so a few dozen of them starved REST and /healthz while MQTT worked,
and an orchestrator would restart a healthy broker. Now they cost no thread:
/healthz answers while hundreds of them are open, one client address gets
at most plugin_opt_http_max_connections_per_ip connections (the others are
refused with 503), and a head that does not arrive within
plugin_opt_http_head_timeout_s is cut off."""

import re
import socket
import time
import unittest

from shadowtest.attack import SlowClients, healthz, source_addresses
from shadowtest.rest import RestTestCase, raw_request

HEALTHZ_BOUND_S = 10.0   # a hang detector, far above the normal answer time
PROBES = 5


def metric(broker, name):
    """The value of one series of GET /metrics, e.g.
    'shadow_http_connections' or 'shadow_http_timeouts_total{stage="head"}'."""
    r = raw_request(broker, "GET", "/metrics")
    match = re.search(r"^%s (\d+)$" % re.escape(name), r.body.decode(), re.M)
    if match is None:
        raise AssertionError("no %s in /metrics" % name)
    return int(match.group(1))


class SlowClientsAndHealthz(RestTestCase):

    def probe_healthz(self):
        """/healthz from 127.0.0.1, PROBES times, each answered 200."""
        for _ in range(PROBES):
            status, _seconds = healthz(self.broker.http_port, timeout_s=HEALTHZ_BOUND_S)
            self.assertEqual(status, 200, "no /healthz answer within %.0f s" % HEALTHZ_BOUND_S)
            time.sleep(0.3)

    def test_healthz_answers_while_hundreds_of_slow_clients_are_connected(self):
        # 200 connections from 4 addresses: 50 each, within the per-address
        # limit, so the server holds every one of them.
        with SlowClients(self.broker.http_port, 200, source_addresses(4)) as slow:
            self.assertEqual(slow.refused, 0)
            self.probe_healthz()
            self.assertGreaterEqual(metric(self.broker, "shadow_http_connections"), 200)
            # REST with a signature works too.
            self.assertEqual(self.rest_update("slow-ok", {"state": {"reported": {"a": 1}}})["version"], 1)
            self.assertEqual(slow.open_now(), 200)

    def test_one_address_gets_at_most_its_share(self):
        # Each test uses addresses of its own: the server may still be
        # closing another test's connections.
        source = source_addresses(6)[5]
        refused_before = metric(self.broker, 'shadow_http_connections_refused_total{limit="per_ip"}')
        with SlowClients(self.broker.http_port, 80, [source]) as slow:
            self.probe_healthz()
            refused = metric(self.broker, 'shadow_http_connections_refused_total{limit="per_ip"}')
            self.assertEqual(refused - refused_before, 80 - 64)
            # The client side agrees once it has read every refusal.
            self.assertTrue(slow.wait_open(64, timeout_s=10), slow.open_now())
            self.assertEqual(slow.refused, 80 - 64)

    def test_a_refused_connection_gets_a_503_in_the_aws_error_shape(self):
        source = source_addresses(5)[4]
        with SlowClients(self.broker.http_port, 64, [source]) as slow:
            self.assertEqual(slow.open_now(), 64)
            with socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10,
                                          source_address=(source, 0)) as s:
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 503 "), data[:200])
        self.assertIn(b"x-amzn-errortype: serviceunavailableexception:", head.lower())
        self.assertIn(b"from your address", body)


class HeadDeadline(RestTestCase):
    broker_options = {"http_head_timeout_s": 2}

    def test_a_head_that_does_not_arrive_in_time_is_cut_off(self):
        before = metric(self.broker, 'shadow_http_timeouts_total{stage="head"}')
        # One byte every 0.5 s: progress, but the head never completes.
        slow = socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10)
        idle = socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10)
        self.addCleanup(slow.close)
        self.addCleanup(idle.close)
        head = b"GET /healthz HTTP/1.1\r\nX-Slow: "
        closed = False
        deadline = time.monotonic() + 20
        sent = 0
        while not closed and time.monotonic() < deadline:
            try:
                slow.sendall(head[sent:sent + 1] or b"a")
                sent += 1
                slow.settimeout(0.5)
                closed = slow.recv(1) == b""
            except socket.timeout:
                pass
            except OSError:
                closed = True
        self.assertTrue(closed, "the server kept a never-ending head for 20 s")
        # The idle connection (no byte at all) went the same way.
        idle.settimeout(20)
        try:
            self.assertEqual(idle.recv(1), b"")
        except ConnectionResetError:
            pass
        self.assertGreaterEqual(metric(self.broker, 'shadow_http_timeouts_total{stage="head"}'), before + 2)
        self.assertEqual(healthz(self.broker.http_port)[0], 200)


if __name__ == "__main__":
    unittest.main()
