"""GET /healthz and GET /metrics (Prometheus text format) on the REST
listener: health needs no signature, metrics do by default, and the request
counters follow the traffic of both channels."""

import re
import unittest

from shadowtest.mqtt import prefix
from shadowtest.rest import RestTestCase, raw_request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; fails on any line that is not
    a comment, blank, or a well-formed sample."""
    samples = {}
    typed = set()
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a Prometheus sample: %r" % line)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in typed and family not in typed:
            raise AssertionError("sample without a # TYPE line: %r" % line)
        samples[(name, frozenset(LABEL.findall(labels)))] = float(value)
    return samples


def requests_total(samples, channel, operation, code):
    key = ("shadow_requests_total",
           frozenset({("channel", channel), ("operation", operation), ("code", code)}))
    return samples.get(key, 0.0)


class HealthAndMetrics(RestTestCase):

    def scrape(self):
        r = raw_request(self.broker, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("text/plain"), r)
        return parse_metrics(r.body.decode("utf-8"))

    def test_healthz_needs_no_signature(self):
        r = raw_request(self.broker, "GET", "/healthz", sign=False)
        self.assertEqual(r.status, 200, r)

    def test_metrics_need_a_signature(self):
        r = raw_request(self.broker, "GET", "/metrics", sign=False)
        self.assertEqual(r.status, 403, r)

    def test_counters_follow_traffic(self):
        before = self.scrape()
        self.rest_update("met1", {"state": {"reported": {"a": 1}}})
        self.rest_update("met1", {"state": {"reported": {"a": 2}}})
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="met-missing")
        self.update_accepted(prefix("met1"), {"state": {"reported": {"a": 3}}})
        after = self.scrape()

        def delta(channel, op, code):
            return requests_total(after, channel, op, code) - requests_total(before, channel, op, code)

        self.assertEqual(delta("rest", "update", "200"), 2)
        self.assertEqual(delta("rest", "get", "404"), 1)
        self.assertEqual(delta("mqtt", "update", "200"), 1)
        # The histogram counts every answered request of the channel.
        count = ("shadow_request_duration_seconds_count", frozenset({("channel", "rest")}))
        self.assertGreaterEqual(after.get(count, 0) - before.get(count, 0), 3)
        for gauge in ("shadow_publish_queue_depth", "shadow_stored_shadows_estimate", "shadow_db_size_bytes"):
            self.assertIn((gauge, frozenset()), after)


class MetricsWithoutAuth(RestTestCase):
    broker_options = {"http_metrics_auth": "false"}

    def test_metrics_open_when_configured(self):
        r = raw_request(self.broker, "GET", "/metrics", sign=False)
        self.assertEqual(r.status, 200, r)
        parse_metrics(r.body.decode("utf-8"))
        # Shadow operations still need a signature.
        r = raw_request(self.broker, "GET", "/things/x/shadow", sign=False)
        self.assertEqual(r.status, 403, r)


if __name__ == "__main__":
    unittest.main()
