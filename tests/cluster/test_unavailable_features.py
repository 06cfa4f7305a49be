"""What cluster mode does not offer yet (topic rules, fleet search, fleet
updates, the shadow history) answers with a clear error through the stock
clients: 400 InvalidRequestException naming plugin_opt_store redis-cluster
and what to use instead, never a bare 404 or a hang (docs/scale-out.md)."""

import json
import unittest

from botocore.exceptions import ClientError

from shadowtest.cases import BrokerLogOnFailure
from shadowtest.rest import RestBroker, make_iot_client, raw_request


class UnavailableInClusterMode(BrokerLogOnFailure, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = RestBroker(auth="sigv4")
        cls.broker.cluster = True
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    def assert_refused(self, call):
        with self.assertRaises(ClientError) as ctx:
            call()
        response = ctx.exception.response
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400, response)
        self.assertEqual(response["Error"]["Code"], "InvalidRequestException", response)
        self.assertIn("plugin_opt_store redis-cluster", response["Error"]["Message"])
        return response["Error"]["Message"]

    def test_topic_rules(self):
        iot = make_iot_client(self.broker)
        message = self.assert_refused(iot.list_topic_rules)
        self.assertIn("topic rules", message)
        self.assert_refused(lambda: iot.create_topic_rule(ruleName="r", topicRulePayload={
            "sql": "SELECT * FROM 'a/b'", "awsIotSqlVersion": "2016-03-23",
            "actions": [{"republish": {"topic": "c/d", "roleArn": "arn:aws:iam::123456789012:role/x"}}]}))
        self.assert_refused(lambda: iot.get_topic_rule(ruleName="r"))

    def test_fleet_search(self):
        iot = make_iot_client(self.broker)
        message = self.assert_refused(lambda: iot.search_index(indexName="AWS_Things", queryString="thingName:*"))
        self.assertIn("fleet search", message)
        self.assert_refused(lambda: iot.get_statistics(indexName="AWS_Things", queryString="thingName:*"))

    def test_fleet_updates_and_history(self):
        for method, path, body in (("POST", "/api/fleet/updates", b'{"query":"thingName:*","state":{}}'),
                                   ("GET", "/api/fleet/updates", b""),
                                   ("GET", "/things/t1/shadow/history", b"")):
            r = raw_request(self.broker, method, path, body)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.error_type(), "InvalidRequestException", r)
            self.assertIn("plugin_opt_store redis-cluster", json.loads(r.body)["message"])

    def test_unsigned_requests_are_still_refused(self):
        r = raw_request(self.broker, "GET", "/rules", sign=False)
        self.assertEqual(r.status, 403, r)

    def test_shadows_still_work(self):
        # The refusals are per feature: the shadow routes of the same
        # listener answer as always.
        r = raw_request(self.broker, "POST", "/things/unavail-1/shadow",
                        json.dumps({"state": {"reported": {"on": True}}}).encode())
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
