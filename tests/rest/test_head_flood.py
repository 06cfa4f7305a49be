"""A request head that never ends cannot grow the broker: four connections
sending endless header lines (8,000 bytes each) or one header line without a
line break are answered 431 (or cut off) once the head passes its limit, and
the broker's memory grows by well under 100 MB while 64 MB per connection is
thrown at it. MQTT and REST keep working afterwards."""

import json
import socket
import unittest

from shadowtest.attack import RssSampler, head_flood
from shadowtest.mqtt import prefix
from shadowtest.rest import RestTestCase

CONNECTIONS = 4
BUDGET_BYTES = 64 << 20      # per connection: far past any legitimate head
TIME_LIMIT_S = 25
MAX_GROWTH_BYTES = 100 << 20


class HeadFlood(RestTestCase):

    def test_endless_heads_are_cut_off_and_memory_stays_bounded(self):
        with RssSampler(self.broker.proc.pid) as rss:
            results = head_flood(self.broker.http_port, CONNECTIONS, BUDGET_BYTES, TIME_LIMIT_S)
        growth = rss.peak - rss.before
        print("head flood: RSS before %.1f MB, peak %.1f MB, after %.1f MB; %r"
              % (rss.before / 2**20, rss.peak / 2**20, rss.after / 2**20, results))
        for r in results:
            with self.subTest(result=r):
                self.assertEqual(r.outcome, "closed", r)
                # 431 (both modes send a complete request line first), or
                # nothing when the close overtook the answer.
                self.assertIn(r.status, (431, None), r)
        self.assertLess(growth, MAX_GROWTH_BYTES)
        self.assertTrue(self.broker.alive())

        # Still serving both sides.
        self.assertEqual(self.rest_update("flood-after", {"state": {"reported": {"ok": 1}}})["version"], 1)
        p = prefix("flood-after")
        self.assertEqual(self.get_accepted(p)["state"], {"reported": {"ok": 1}})

    def test_an_oversized_head_gets_431_or_414_in_the_aws_error_shape(self):
        cases = [
            (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
            (b"GET /things/" + b"a" * 20000 + b"/shadow HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ]
        for request, status in cases:
            with self.subTest(status=status):
                head, body = self.exchange(request)
                self.assertTrue(head.startswith(b"HTTP/1.1 %d " % status), head[:200])
                lower = head.lower()
                self.assertIn(b"x-amzn-errortype: invalidrequestexception:", lower)
                self.assertIn(b"x-amzn-requestid: ", lower)
                self.assertIn(b"connection: close", lower)
                self.assertIn("message", json.loads(body))

    def exchange(self, request):
        """Sends `request` on a fresh connection and reads until the server
        closes it: (head, body) of the answer."""
        with socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=10) as s:
            s.sendall(request)
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return head, body


if __name__ == "__main__":
    unittest.main()
