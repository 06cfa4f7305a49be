"""Presence in durable mode (plugin_opt_sync_writes true): the presence
writes and the catch-up delta go through the pipeline like client requests,
so their events are held until the write is durable and still arrive, in
version order."""

import unittest

from shadowtest.cases import BrokerTestCase
from presence_case import PresenceCase, unique
from shadowtest.mqtt import Client, prefix

OPTIONS = {"presence_field": "connected", "delta_on_subscribe": "true", "sync_writes": "true",
           "acl_fallback": "allow", "event_topics": "aws", "connect_detection": "connect"}


class DurablePresence(PresenceCase, BrokerTestCase):
    broker_options = OPTIONS

    def test_writes_and_catch_up_in_durable_mode(self):
        thing = unique("dev")
        p = prefix(thing)
        # Not a thing (its id is no valid thing name): it sees every write.
        o = self.client("observer", p + "/update/documents", client_id="observer:" + unique("o"))

        def next_write():
            doc = o.take_json(p + "/update/documents")["current"]
            return doc["version"], doc["state"]["reported"]["connected"]

        device = Client(self.broker.port, client_id=thing)
        self.assertEqual(next_write(), (1, True))
        device.close()
        self.assertEqual(next_write(), (2, False))

        # Changed while the device was away; it catches up when it is back.
        outcome, doc = self.request(p, "update", {"state": {"desired": {"mode": "eco"}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(doc["version"], 3)
        o.take_json(p + "/update/documents")
        device = Client(self.broker.port, client_id=thing)
        self.addCleanup(device.close)
        self.assertEqual(next_write(), (4, True))
        device.subscribe(p + "/update/delta", p + "/get/accepted", p + "/get/rejected")
        catch_up = device.take_json(p + "/update/delta")
        self.assertEqual(catch_up["state"], {"mode": "eco"})
        self.assertEqual(catch_up["version"], 4)
        device.barrier(p)
        self.assertEqual(device.pending(p + "/update/delta"), [])


if __name__ == "__main__":
    unittest.main()
