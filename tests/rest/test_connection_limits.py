"""Connections that hold a server thread without making progress: idle and
half-sent ones must not keep other clients waiting, and a request whose body
will be refused is answered from its head, before any body byte, with the
connection closed afterwards (the unread body must never be parsed as a next
request).

The "before any body byte" checks send the body only after a pause, one byte
per pause, and stop as soon as an answer arrives: a server that waits for the
body (to read or skip it) keeps getting bytes, so it never answers within the
bound and the test fails instead of hanging. Every wait is bounded; no timing
is asserted beyond the hang bound."""

import json
import select
import socket
import time
import unittest

from shadowtest.rest import RestTestCase

ANSWER_BOUND_S = 10.0    # a hang detector, far above the normal answer time
IDLE_CONNECTIONS = 40
HALF_SENT_HEADS = 8
HUNDRED_MB = 104857600


class Answer:
    def __init__(self, status, headers, body, closed):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.closed = closed    # the server closed the connection after it

    def error_type(self):
        value = self.headers.get("x-amzn-errortype")
        return None if value is None else value.split(":", 1)[0]


def parse_answer(data, closed):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, body, closed)


class ConnectionLimits(RestTestCase):
    # No signature needed: every request reaches the server's own checks.
    broker_auth = "none"

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.broker.http_port), timeout=ANSWER_BOUND_S)
        self.addCleanup(s.close)
        return s

    def read_answer(self, s, dribble=None, wait_for_close=True):
        """One complete response on `s` (headers and Content-Length body),
        then (with `wait_for_close`) whether the server closes the connection
        within the bound. With `dribble`, one byte of it is sent every 0.2 s
        while nothing has been received yet. Fails the test when the bound
        passes."""
        deadline = time.monotonic() + ANSWER_BOUND_S
        data = b""
        length = None
        while length is None or len(data.partition(b"\r\n\r\n")[2]) < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail("no complete answer within %.0f s; got %r" % (ANSWER_BOUND_S, data[:200]))
            readable, _, _ = select.select([s], [], [], min(0.2, remaining))
            if not readable:
                if dribble and not data:
                    s.sendall(dribble[:1])
                    dribble = dribble[1:]
                continue
            chunk = s.recv(65536)
            if not chunk:
                self.fail("connection closed before a complete answer; got %r" % data[:200])
            data += chunk
            if length is None and b"\r\n\r\n" in data:
                answer = parse_answer(data, False)
                length = int(answer.headers.get("content-length", "0"))
        if not wait_for_close:
            return parse_answer(data, False)
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
        return parse_answer(data, closed)

    def healthz(self):
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return self.read_answer(s)

    def assert_aws_error(self, answer, status, error_type):
        self.assertEqual(answer.status, status)
        self.assertEqual(answer.error_type(), error_type)
        self.assertTrue(answer.headers.get("x-amzn-requestid"))
        self.assertIsInstance(json.loads(answer.body.decode("utf-8")), dict)

    def test_idle_and_half_sent_connections_do_not_block_others(self):
        idle = [self.connect() for _ in range(IDLE_CONNECTIONS)]
        for _ in range(HALF_SENT_HEADS):
            s = self.connect()
            s.sendall(b"GET /healthz HTT")
            idle.append(s)
        # Each of them may hold a server thread; other clients still get in.
        answer = self.healthz()
        self.assertEqual(answer.status, 200)
        self.assertEqual(json.loads(answer.body), {"status": "ok"})
        self.assertTrue(answer.closed)
        # A keep-alive client is served twice on one connection meanwhile.
        s = self.connect()
        for _ in range(2):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            s.settimeout(ANSWER_BOUND_S)
            while not data.endswith(b'{"status":"ok"}'):
                chunk = s.recv(4096)
                self.assertTrue(chunk, "closed before the answer: %r" % data)
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "))

    def test_announced_100_mb_body_is_refused_from_the_head(self):
        s = self.connect()
        s.sendall(b"PUT /things/huge/shadow HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n" % HUNDRED_MB)
        answer = self.read_answer(s, dribble=b"{" * 200)
        self.assert_aws_error(answer, 413, "RequestEntityTooLargeException")
        self.assertEqual(answer.headers.get("connection"), "close")
        self.assertTrue(answer.closed)
        self.assertEqual(self.healthz().status, 200)

    def test_expect_100_continue_gets_the_refusal_instead_of_continue(self):
        s = self.connect()
        s.sendall(b"POST /topics/big?qos=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % HUNDRED_MB)
        answer = self.read_answer(s, dribble=b"x" * 200)
        self.assert_aws_error(answer, 413, "RequestEntityTooLargeException")
        self.assertTrue(answer.closed)

    def test_malformed_content_length_is_a_bad_request_from_the_head(self):
        for value in (b"-5", b"abc", b"1 2", b"0x10", b"+3"):
            with self.subTest(content_length=value):
                s = self.connect()
                s.sendall(b"POST /things/cl/shadow HTTP/1.1\r\nHost: x\r\nContent-Length: " + value +
                          b"\r\n\r\n")
                answer = self.read_answer(s, dribble=b"{" * 200)
                self.assert_aws_error(answer, 400, "InvalidRequestException")
                self.assertTrue(answer.closed)

    def test_ambiguous_body_framing_is_a_bad_request(self):
        heads = [
            b"Content-Length: 3\r\nContent-Length: 4\r\n",
            b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: gzip\r\n",
        ]
        for head in heads:
            with self.subTest(head=head):
                s = self.connect()
                s.sendall(b"POST /things/te/shadow HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
                answer = self.read_answer(s, dribble=b"{" * 200)
                self.assert_aws_error(answer, 400, "InvalidRequestException")
                self.assertTrue(answer.closed)
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="te")

    def test_chunked_body_over_the_limit_closes_the_connection(self):
        s = self.connect()
        chunk = b" " * 65536
        s.sendall(b"POST /things/chunky/shadow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(4):  # 256 KiB, twice the default limit
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # refused and closed while sending: the answer is still read
        # The request is never finished: the server must answer and close
        # without waiting for the rest.
        answer = self.read_answer(s)
        self.assert_aws_error(answer, 413, "RequestEntityTooLargeException")
        self.assertTrue(answer.closed)

    def test_body_within_the_limit_still_works(self):
        # The head checks leave ordinary requests alone: a length at the
        # limit's side, an empty body without any length, a chunked body.
        doc = b'{"state":{"reported":{"n":1}}}'
        s = self.connect()
        s.sendall(b"POST /things/fine/shadow HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(doc), doc))
        answer = self.read_answer(s, wait_for_close=False)
        self.assertEqual(answer.status, 200, answer.body)
        # Same connection (keep-alive): a chunked body.
        s.sendall(b"POST /things/fine/shadow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"%x\r\n%s\r\n0\r\n\r\n" % (len(doc), doc))
        self.assertEqual(self.read_answer(s, wait_for_close=False).status, 200)
        # No length, no chunking: an empty body (a 400 for a shadow update),
        # answered at once rather than after waiting for the connection's end.
        s.sendall(b"POST /things/fine/shadow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = self.read_answer(s)
        self.assert_aws_error(answer, 400, "InvalidRequestException")
        self.assertEqual(self.rest_get("fine")["state"], {"reported": {"n": 1}})


if __name__ == "__main__":
    unittest.main()
