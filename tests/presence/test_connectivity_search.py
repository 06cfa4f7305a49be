"""Fleet search's connectivity.* fields come from presence: with the
presence field on, `aws iot search-index` (boto3) sees a thing connected
while its device is, disconnected after, and no connectivity for a thing
whose device never connected (docs/fleet.md#connectivity)."""

import unittest

from presence_case import unique
from shadowtest.mqtt import Client, prefix
from shadowtest.rest import RestTestCase, make_iot_client


class ConnectivityInSearch(RestTestCase):
    broker_options = {"presence_field": "connected", "acl_fallback": "allow", "event_topics": "aws",
                      "connect_detection": "connect"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.control = make_iot_client(cls.broker)

    def search(self, query):
        return self.control.search_index(indexName="AWS_Things", queryString=query)["things"]

    def test_connected_then_disconnected(self):
        thing = unique("dev")
        p = prefix(thing)
        # Not a thing (no valid thing name): it sees each presence write,
        # which comes after the connectivity record in the same loop pass.
        o = self.client("observer", p + "/update/documents", client_id="observer:" + unique("o"))
        device = Client(self.broker.port, client_id=thing)
        self.assertIs(o.take_json(p + "/update/documents")["current"]["state"]["reported"]["connected"], True)

        things = self.search("thingName:%s AND connectivity.connected:true" % thing)
        self.assertEqual([t["thingName"] for t in things], [thing])
        up = things[0]["connectivity"]
        self.assertIs(up["connected"], True)
        self.assertIsInstance(up["timestamp"], int)
        self.assertEqual(self.search("thingName:%s AND connectivity.connected:false" % thing), [])

        device.close()
        self.assertIs(o.take_json(p + "/update/documents")["current"]["state"]["reported"]["connected"], False)
        things = self.search("thingName:%s AND connectivity.connected:false" % thing)
        self.assertEqual([t["thingName"] for t in things], [thing])
        self.assertIs(things[0]["connectivity"]["connected"], False)
        self.assertGreaterEqual(things[0]["connectivity"]["timestamp"], up["timestamp"])

    def test_no_connectivity_for_a_thing_never_connected(self):
        thing = unique("dev")
        self.rest_update(thing, {"state": {"reported": {"temp": 1}}})
        things = self.search("thingName:%s" % thing)
        self.assertEqual([t["thingName"] for t in things], [thing])
        self.assertNotIn("connectivity", things[0])
        self.assertEqual(self.search("thingName:%s AND connectivity.connected:false" % thing), [])


if __name__ == "__main__":
    unittest.main()
