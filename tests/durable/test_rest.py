"""Durable mode and the REST API: an update answers after its fsync and
reads back at once, its MQTT events go through the same hold-back as MQTT
replies (traced after a covering sync, in order), and REST and MQTT writers
of one shadow see one order."""

import json
import unittest

from shadowtest.cases import ShadowTestCase
from shadowtest.durable import EXPECTED_EXITS, Trace, assert_no_ack_before_its_sync, durable_broker
from shadowtest.mqtt import prefix
from shadowtest.rest import RestBroker, raw_request


class DurableRest(ShadowTestCase):
    def setUp(self):
        self.broker = durable_broker(RestBroker, auth="none")
        self.addCleanup(self.broker.cleanup)
        self.broker.start()
        self.addCleanup(self.broker.report_if_exited, EXPECTED_EXITS)

    def http(self, method, path, body=None):
        """(status, parsed body) of an unsigned request (http_auth none)."""
        r = raw_request(self.broker, method, path, b"" if body is None else json.dumps(body).encode(),
                        sign=False)
        return r.status, r.json()

    def test_update_then_get_and_events_in_order(self):
        p = prefix("dur-rest")
        c = self.client("watch", p + "/update/documents")
        versions = []
        for k in range(15):
            status, body = self.http("POST", "/things/dur-rest/shadow",
                                     {"state": {"reported": {"k": k}}})
            self.assertEqual(status, 200, body)
            versions.append(body["version"])
            status, got = self.http("GET", "/things/dur-rest/shadow")
            self.assertEqual(status, 200, got)
            self.assertEqual((got["version"], got["state"]["reported"]["k"]), (body["version"], k))
            # An MQTT update in between: one order for both channels.
            upd = self.update_accepted(p, {"state": {"reported": {"k": k, "m": True}}})
            versions.append(upd["version"])
        self.assertEqual(versions, list(range(1, 31)))
        docs = [m.json() for m in c.take(p + "/update/documents", count=30)]
        self.assertEqual([d["current"]["version"] for d in docs], versions)

        self.broker.stop()
        trace = Trace(self.broker.trace_path)
        assert_no_ack_before_its_sync(self, trace)
        doc_acks = [a for a in trace.acks if "/dur-rest/shadow/update/accepted" in a[2]
                    or "/dur-rest/shadow/update/documents" in a[2]]
        self.assertGreaterEqual(len(doc_acks), 30)


if __name__ == "__main__":
    unittest.main()
