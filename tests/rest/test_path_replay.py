"""A signed request cannot be replayed to another path. The SigV4 canonical
URI drops '.', '..' and empty path segments, while the routes read the path
as received: a Publish signed for /topics/sensors%2Fdev1 would also verify
as /topics/sensors%2Fdev1/. (topic "sensors/dev1/.") or
/topics/x/../sensors%2Fdev1 (topic "x/../sensors/dev1"). Such paths, literal
or percent-encoded, are refused with 400 before routing and nothing is
published."""

import unittest

from shadowtest.rest import RestTestCase, raw_request, sign_headers

SIGNED_PATH = "/topics/sensors%2Fdev1?qos=1"
REPLAYS = [
    "/topics/sensors%2Fdev1/.?qos=1",
    "/topics/sensors%2Fdev1/./?qos=1",
    "/topics/x/../sensors%2Fdev1?qos=1",
    "/topics/./sensors%2Fdev1?qos=1",
    "/topics//sensors%2Fdev1?qos=1",
    "/topics/sensors%2Fdev1//?qos=1",
    "/things/../topics/sensors%2Fdev1?qos=1",
]
# Dot segments written as percent escapes, each signed for itself.
ENCODED_DOTS = [
    "/topics/x/%2E%2E/y?qos=1",
    "/topics/x/%2e?qos=1",
    "/things/t/%2E%2E/t/shadow",
]


class PathReplay(RestTestCase):

    def assert_refused(self, r):
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.error_type(), "InvalidRequestException", r)
        self.assertIn("segment", r.json()["message"])

    def test_signature_does_not_replay_to_another_path(self):
        watcher = self.client("watcher", "#")
        body = b'{"cmd":"open"}'
        headers = sign_headers(self.broker, "POST", SIGNED_PATH, body)
        for path in REPLAYS:
            with self.subTest(path=path):
                self.assert_refused(raw_request(self.broker, "POST", path, body, headers=headers,
                                                sign=False))
        # The original still works, and it is the first message to arrive:
        # none of the replays was published before it.
        r = raw_request(self.broker, "POST", SIGNED_PATH, body, headers=headers, sign=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(watcher.take_one("sensors/dev1").payload, body)
        self.assertEqual(watcher.pending(), [])

    def test_percent_encoded_dot_segments_are_refused(self):
        watcher = self.client("watcher", "#")
        for path in ENCODED_DOTS:
            with self.subTest(path=path):
                method = "GET" if path.startswith("/things/") else "POST"
                self.assert_refused(raw_request(self.broker, method, path, b"x" if method == "POST" else b""))
        # A barrier: published after them, so anything they had published
        # would have arrived before it.
        self.assertEqual(raw_request(self.broker, "POST", "/topics/barrier", b"b").status, 200)
        watcher.take_one("barrier")
        self.assertEqual(watcher.pending(), [])

    def test_dots_inside_a_segment_are_ordinary_characters(self):
        # Only whole '.' and '..' segments are ambiguous; a topic level
        # such as "v1.2" or "..x", or an encoded slash next to dots, is not.
        watcher = self.client("watcher", "#")
        for path, topic in [("/topics/v1.2/..x?qos=1", "v1.2/..x"),
                            ("/topics/a%2F..%2Fb?qos=1", "a/../b")]:
            with self.subTest(path=path):
                self.assertEqual(raw_request(self.broker, "POST", path, b"d").status, 200)
                self.assertEqual(watcher.take_one(topic).payload, b"d")


if __name__ == "__main__":
    unittest.main()
