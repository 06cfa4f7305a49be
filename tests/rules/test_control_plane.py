"""The topic-rule API with the stock clients: `aws iot ... --endpoint-url`
and boto3's iot client, signed as they sign control-plane calls
(execute-api), with AWS's shapes and exception types; rules survive a
restart."""

import json
import os
import shutil
import tempfile
import unittest

from botocore.exceptions import ClientError

from rules_case import RulesTestCase, aws, payload, republish, dumps
from shadowtest.rest import make_iot_client, raw_request


class AwsCli(RulesTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shadow-rules-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def cli(self, *args):
        return aws(self.broker, *args, home=self.tmp)

    def ok(self, *args):
        rc, out, err = self.cli(*args)
        self.assertEqual(rc, 0, "aws %s\nstdout: %s\nstderr: %s" % (" ".join(args), out, err))
        return out

    def rule_file(self, name, doc):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return "file://" + path

    def test_lifecycle(self):
        rule = self.rule_file("r.json", payload("SELECT * FROM 'cli/+/in'", republish("cli/${topic(2)}/out"),
                                                description="first"))
        self.assertEqual(self.ok("iot", "create-topic-rule", "--rule-name", "cli_rule",
                                 "--topic-rule-payload", rule), "")
        self.addCleanup(self.cli, "iot", "delete-topic-rule", "--rule-name", "cli_rule")

        rc, out, err = self.cli("iot", "create-topic-rule", "--rule-name", "cli_rule", "--topic-rule-payload", rule)
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(ResourceAlreadyExistsException)", err)

        got = json.loads(self.ok("iot", "get-topic-rule", "--rule-name", "cli_rule"))
        self.assertEqual(got["ruleArn"], "arn:aws:iot:us-east-1:000000000000:rule/cli_rule")
        self.assertEqual(got["rule"]["ruleName"], "cli_rule")
        self.assertEqual(got["rule"]["sql"], "SELECT * FROM 'cli/+/in'")
        self.assertEqual(got["rule"]["description"], "first")
        self.assertEqual(got["rule"]["ruleDisabled"], False)
        self.assertEqual(got["rule"]["awsIotSqlVersion"], "2016-03-23")
        self.assertEqual(got["rule"]["actions"],
                         [{"republish": {"roleArn": "arn:aws:iam::123456789012:role/unused",
                                         "topic": "cli/${topic(2)}/out", "qos": 0}}])
        self.assertIn("createdAt", got["rule"])

        replaced = self.rule_file("r2.json", payload("SELECT a FROM 'cli/other'", republish("x")))
        self.ok("iot", "replace-topic-rule", "--rule-name", "cli_rule", "--topic-rule-payload", replaced)
        got2 = json.loads(self.ok("iot", "get-topic-rule", "--rule-name", "cli_rule"))
        self.assertEqual(got2["rule"]["sql"], "SELECT a FROM 'cli/other'")
        self.assertEqual(got2["rule"]["createdAt"], got["rule"]["createdAt"])

        self.ok("iot", "disable-topic-rule", "--rule-name", "cli_rule")
        listed = json.loads(self.ok("iot", "list-topic-rules", "--topic", "cli/other"))["rules"]
        self.assertEqual([(r["ruleName"], r["ruleDisabled"], r["topicPattern"]) for r in listed],
                         [("cli_rule", True, "cli/other")])
        self.ok("iot", "enable-topic-rule", "--rule-name", "cli_rule")
        listed = json.loads(self.ok("iot", "list-topic-rules", "--rule-disabled"))["rules"]
        self.assertEqual([r["ruleName"] for r in listed], [])

        self.ok("iot", "delete-topic-rule", "--rule-name", "cli_rule")
        rc, out, err = self.cli("iot", "get-topic-rule", "--rule-name", "cli_rule")
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(UnauthorizedException)", err)

    def test_list_pages(self):
        names = ["page_%d" % i for i in range(5)]
        for n in names:
            self.create_rule(n, payload("SELECT * FROM 'pages/%s'" % n, republish("out")))
        # --page-size sets maxResults; the CLI follows nextToken to the end.
        listed = json.loads(self.ok("iot", "list-topic-rules", "--page-size", "2"))
        self.assertEqual([r["ruleName"] for r in listed["rules"] if r["ruleName"].startswith("page_")], names)
        # --max-items stops early and hands out a token to continue with.
        first = json.loads(self.ok("iot", "list-topic-rules", "--page-size", "2", "--max-items", "3"))
        self.assertEqual([r["ruleName"] for r in first["rules"]], names[:3])
        self.assertIn("NextToken", first)
        rest = json.loads(self.ok("iot", "list-topic-rules", "--page-size", "2",
                                  "--starting-token", first["NextToken"]))
        self.assertEqual([r["ruleName"] for r in rest["rules"]], names[3:])

    def test_bad_sql_names_the_position(self):
        rule = self.rule_file("bad.json", payload("SELECT * FORM 'a/b'", republish("x")))
        rc, out, err = self.cli("iot", "create-topic-rule", "--rule-name", "bad_sql", "--topic-rule-payload", rule)
        self.assertEqual(rc, 254, (out, err))
        self.assertIn("(SqlParseException)", err)
        self.assertIn("line 1, column 10", err)
        rc, out, err = self.cli("iot", "get-topic-rule", "--rule-name", "bad_sql")
        self.assertIn("(UnauthorizedException)", err)


class Boto3Iot(RulesTestCase):

    def assertError(self, ctx, code, status):
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        return err

    def test_operations_and_errors(self):
        c = self.control
        p = payload("SELECT temp FROM 'b3/+/t' WHERE temp > 1", republish("b3/alert"))
        c.create_topic_rule(ruleName="b3_rule", topicRulePayload=p)
        self.addCleanup(self.delete_quietly, "b3_rule")
        with self.assertRaises(ClientError) as ctx:
            c.create_topic_rule(ruleName="b3_rule", topicRulePayload=p)
        err = self.assertError(ctx, "ResourceAlreadyExistsException", 409)
        self.assertEqual(err["resourceId"], "b3_rule")

        rule = c.get_topic_rule(ruleName="b3_rule")
        self.assertEqual(rule["rule"]["sql"], p["sql"])
        self.assertEqual(rule["rule"]["createdAt"].year >= 2024, True)

        c.replace_topic_rule(ruleName="b3_rule", topicRulePayload=payload("SELECT * FROM 'b3/x'", disabled=True))
        self.assertEqual(c.get_topic_rule(ruleName="b3_rule")["rule"]["ruleDisabled"], True)
        c.enable_topic_rule(ruleName="b3_rule")
        self.assertEqual(c.get_topic_rule(ruleName="b3_rule")["rule"]["ruleDisabled"], False)
        c.disable_topic_rule(ruleName="b3_rule")
        self.assertEqual(c.list_topic_rules(topic="b3/x")["rules"][0]["ruleDisabled"], True)

        for call in (lambda: c.get_topic_rule(ruleName="missing"),
                     lambda: c.delete_topic_rule(ruleName="missing"),
                     lambda: c.enable_topic_rule(ruleName="missing"),
                     lambda: c.replace_topic_rule(ruleName="missing", topicRulePayload=p)):
            with self.assertRaises(c.exceptions.UnauthorizedException):
                call()

        with self.assertRaises(c.exceptions.SqlParseException) as ctx:
            c.create_topic_rule(ruleName="b3_bad", topicRulePayload=payload("SELECT FROM 'x'"))
        self.assertIn("line 1, column", ctx.exception.response["Error"]["Message"])
        with self.assertRaises(c.exceptions.InvalidRequestException) as ctx:
            c.create_topic_rule(ruleName="bad-name", topicRulePayload=p)
        self.assertIn("ruleName", ctx.exception.response["Error"]["Message"])
        with self.assertRaises(c.exceptions.InvalidRequestException) as ctx:
            c.create_topic_rule(ruleName="b3_lambda", topicRulePayload=payload(
                "SELECT * FROM 'x'", {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f"}}))
        self.assertIn("lambda", ctx.exception.response["Error"]["Message"])
        with self.assertRaises(c.exceptions.InvalidRequestException) as ctx:
            c.create_topic_rule(ruleName="b3_http", topicRulePayload=payload(
                "SELECT * FROM 'x'", {"http": {"url": "http://10.1.2.3:8080/hook"}}))
        self.assertIn("plugin_opt_rules_http_allow", ctx.exception.response["Error"]["Message"])

        c.delete_topic_rule(ruleName="b3_rule")
        with self.assertRaises(c.exceptions.UnauthorizedException):
            c.get_topic_rule(ruleName="b3_rule")

    def test_paging_by_hand(self):
        names = ["hand_%d" % i for i in range(3)]
        for n in names:
            self.create_rule(n, payload("SELECT * FROM 'hand/x'", republish("out")))
        first = self.control.list_topic_rules(topic="hand/x", maxResults=2)
        self.assertEqual([r["ruleName"] for r in first["rules"]], names[:2])
        second = self.control.list_topic_rules(topic="hand/x", maxResults=2, nextToken=first["nextToken"])
        self.assertEqual([r["ruleName"] for r in second["rules"]], names[2:])
        self.assertNotIn("nextToken", second)
        item = second["rules"][0]
        self.assertEqual(set(item), {"ruleArn", "ruleName", "topicPattern", "createdAt", "ruleDisabled"})

    def test_signing_service_and_credentials(self):
        # The control-plane routes take execute-api signatures (what the
        # stock clients send) and refuse iot-data ones, and unknown keys.
        r = raw_request(self.broker, "GET", "/rules", service="iotdata")
        self.assertEqual(r.status, 403, r)
        r = raw_request(self.broker, "GET", "/rules", service="execute-api")
        self.assertEqual(r.status, 200, r)
        self.assertIn("rules", r.json())
        with self.assertRaises(ClientError) as ctx:
            make_iot_client(self.broker, secret="wrong").list_topic_rules()
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)


class Restart(unittest.TestCase):
    """Rules are kept in the store: they are back, and run, after a restart."""

    def test_rules_survive_a_restart(self):
        from rules_case import RulesBroker
        from shadowtest.mqtt import Client
        broker = RulesBroker()
        self.addCleanup(broker.cleanup)
        broker.start()
        c = make_iot_client(broker)
        c.create_topic_rule(ruleName="kept", topicRulePayload=payload("SELECT n FROM 'rs/in'", republish("rs/out")))
        c.create_topic_rule(ruleName="kept_off", topicRulePayload=payload("SELECT * FROM 'rs/in'",
                                                                          republish("rs/off"), disabled=True))
        broker.restart()
        c = make_iot_client(broker)
        names = [(r["ruleName"], r["ruleDisabled"]) for r in c.list_topic_rules()["rules"]]
        self.assertEqual(names, [("kept", False), ("kept_off", True)])
        sub = Client(broker.port, "rs-sub")
        self.addCleanup(sub.close)
        sub.subscribe("rs/out", "rs/off")
        pub = Client(broker.port, "rs-pub")
        self.addCleanup(pub.close)
        pub.publish("rs/in", dumps({"n": 7, "other": 1}))
        self.assertEqual(sub.take_one("rs/out").json(), {"n": 7})
        sub.echo_barrier("rs/off")
        self.assertEqual(sub.pending("rs/off"), [])



class RulesOff(unittest.TestCase):
    """With plugin_opt_rules false the topic-rule routes say why they do not
    work and what to change, instead of a bare 404."""

    def test_the_aws_cli_is_told_how_to_turn_rules_on(self):
        from rules_case import RulesBroker
        broker = RulesBroker(options={"rules": "false"})
        self.addCleanup(broker.cleanup)
        broker.start()
        with tempfile.TemporaryDirectory() as home:
            rc, out, err = aws(broker, "iot", "list-topic-rules", home=home)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("(InvalidRequestException)", err)
        self.assertIn("plugin_opt_rules true", err)
        with self.assertRaises(ClientError) as ctx:
            make_iot_client(broker).create_topic_rule(
                ruleName="off", topicRulePayload=payload("SELECT * FROM 'off/in'", republish("off/out")))
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidRequestException")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        # A wrong signature is still refused first: the routes are not open.
        with self.assertRaises(ClientError) as ctx:
            make_iot_client(broker, secret="wrong").list_topic_rules()
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

if __name__ == "__main__":
    unittest.main()
