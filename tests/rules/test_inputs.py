"""What rules see: client publishes (with their client id), the service's
own messages, REST Publish, get_thing_shadow(); rules loaded from
plugin_opt_rules_file; the engine switched off."""

import json
import os
import unittest

from rules_case import RulesBroker, RulesTestCase, dumps, payload, republish
from shadowtest.mqtt import Client, prefix
from shadowtest.rest import RestBroker, make_iot_client


class Inputs(RulesTestCase):

    def test_client_publish_carries_its_client_id_and_principal(self):
        self.create_rule("who", payload("SELECT clientid() AS client, topic() AS t, n FROM 'in/who'",
                                        republish("out/who")))
        sub = self.client("sub", "out/who")
        self.client("pub", client_id="dev-42").publish("in/who", dumps({"n": 1}))
        self.assertEqual(sub.take_json("out/who"), {"client": "dev-42", "t": "in/who", "n": 1})

    def test_rest_publish_and_service_messages_reach_rules(self):
        self.create_rule("rest_in", payload("SELECT *, clientid() AS client FROM 'rest/in'", republish("rest/out")))
        self.create_rule("accepted", payload(
            "SELECT state.reported.v AS v, topic(3) AS thing FROM '$aws/things/+/shadow/update/accepted'",
            republish("acc/out")))
        sub = self.client("sub", "rest/out", "acc/out")
        self.iot.publish(topic="rest/in", qos=1, payload=b'{"x":1}')
        self.assertEqual(sub.take_json("rest/out"), {"x": 1, "client": "n/a"})
        self.rest_update("svc1", {"state": {"reported": {"v": 3}}})
        self.assertEqual(sub.take_json("acc/out"), {"v": 3, "thing": "svc1"})
        self.update_accepted(prefix("svc2"), {"state": {"reported": {"v": 4}}})
        self.assertEqual(sub.take_json("acc/out"), {"v": 4, "thing": "svc2"})

    def test_get_thing_shadow(self):
        self.rest_update("lookup1", {"state": {"reported": {"limit": 40}}})
        self.create_rule("lookup", payload(
            "SELECT t, get_thing_shadow(thing, 'arn:aws:iam::123456789012:role/r').state.reported.limit AS limit "
            "FROM 'lk/in' WHERE t > get_thing_shadow(thing, 'arn:aws:iam::123456789012:role/r').state.reported.limit",
            republish("lk/out")))
        sub = self.client("sub", "lk/out")
        pub = self.client("pub")
        pub.publish("lk/in", dumps({"thing": "lookup1", "t": 30}))
        pub.publish("lk/in", dumps({"thing": "lookup1", "t": 45}))
        self.assertEqual(sub.take_json("lk/out"), {"t": 45, "limit": 40})
        self.assertEqual(sub.pending(), [])

    def test_disabled_and_replaced_rules_apply_at_once(self):
        self.create_rule("switch", payload("SELECT 'one' AS v FROM 'sw/in'", republish("sw/out")))
        sub = self.client("sub", "sw/out")
        pub = self.client("pub")
        pub.publish("sw/in", b"{}")
        self.assertEqual(sub.take_json("sw/out"), {"v": "one"})
        self.control.disable_topic_rule(ruleName="switch")
        pub.publish("sw/in", b"{}")
        self.control.replace_topic_rule(ruleName="switch", topicRulePayload=payload(
            "SELECT 'two' AS v FROM 'sw/in'", republish("sw/out")))
        pub.publish("sw/in", b"{}")
        # The disabled rule sent nothing: the next message is the replaced rule's.
        self.assertEqual(sub.take_json("sw/out"), {"v": "two"})


class LifecycleEventsAsInput(RulesTestCase):
    """The presence feature's lifecycle events are the service's own
    messages, so rules see them as on AWS."""
    broker_options = {"lifecycle_events": "true"}

    def test_connect_and_disconnect_events_reach_a_rule(self):
        self.create_rule("presence", payload(
            "SELECT clientId, eventType, topic(4) AS kind FROM '$aws/events/presence/+/rule-dev'",
            republish("pres/out")))
        sub = self.client("sub", "pres/out")
        dev = self.client("dev", client_id="rule-dev")
        dev.publish("anything/rule-dev", b"{}")  # activity: the connection is reported
        self.assertEqual(sub.take_json("pres/out"),
                         {"clientId": "rule-dev", "eventType": "connected", "kind": "connected"})
        dev.drop()
        self.assertEqual(sub.take_json("pres/out"),
                         {"clientId": "rule-dev", "eventType": "disconnected", "kind": "disconnected"})


class RulesFile(unittest.TestCase):

    def write(self, directory, name, doc):
        with open(os.path.join(directory, name), "w") as f:
            json.dump(doc, f)

    def test_rules_file_is_applied_at_start(self):
        broker = RulesBroker()
        self.addCleanup(broker.cleanup)
        rules_dir = os.path.join(broker.dir, "rules.d")
        os.mkdir(rules_dir)
        self.write(rules_dir, "a.json", {"ruleName": "from_file",
                                         "topicRulePayload": payload("SELECT * FROM 'rf/in'", republish("rf/out"))})
        broker.options["rules_file"] = rules_dir
        broker.start()
        got = make_iot_client(broker).get_topic_rule(ruleName="from_file")
        self.assertEqual(got["rule"]["sql"], "SELECT * FROM 'rf/in'")
        sub = Client(broker.port, "sub")
        self.addCleanup(sub.close)
        sub.subscribe("rf/out")
        pub = Client(broker.port, "pub")
        self.addCleanup(pub.close)
        pub.publish("rf/in", b'{"a":1}')
        self.assertEqual(sub.take_json("rf/out"), {"a": 1})

        # An invalid definition stops the broker at start-up, saying where.
        self.write(rules_dir, "b.json", {"ruleName": "broken", "topicRulePayload": payload("SELECT * FORM 'x'")})
        broker.stop()
        code, log = broker.start_expect_exit()
        self.assertNotEqual(code, 0)
        self.assertIn("b.json", log)
        self.assertIn("SqlParseException", log)


class Switches(unittest.TestCase):

    def test_without_the_acl_check_the_log_says_wills_are_not_seen(self):
        broker = RestBroker()
        self.addCleanup(broker.cleanup)
        broker.start()
        self.assertIn("Last Will messages reach rules only through the plugin's ACL check", broker.log())


if __name__ == "__main__":
    unittest.main()
