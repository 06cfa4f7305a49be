"""shadowctl rules: list, get, create, replace, enable, disable, delete,
signed as the AWS CLI signs control-plane calls (execute-api)."""

import json
import os
import tempfile
import unittest

from ctl_case import CtlTestCase, EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_OK, EXIT_REQUEST, EXIT_USAGE
from shadowtest.rest import ACCESS_KEY, SECRET_KEY

ROLE = "arn:aws:iam::123456789012:role/unused"


def rule(sql, topic="ctl/out", disabled=False):
    return {"sql": sql, "awsIotSqlVersion": "2016-03-23", "ruleDisabled": disabled,
            "actions": [{"republish": {"topic": topic, "roleArn": ROLE}}]}


class Rules(CtlTestCase):
    auth = "sigv4"

    def keys(self):
        return ["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY]

    def file(self, doc):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
        self.addCleanup(os.remove, path)
        return path

    def test_rule_lifecycle(self):
        k = self.keys()
        proc = self.ctl(*k, "rules", "create", "ctl_rule", "--file", self.file(rule("SELECT * FROM 'ctl/in'")),
                        expect=EXIT_OK)
        self.assertIn("created rule 'ctl_rule'", proc.stdout)
        proc = self.ctl(*k, "rules", "create", "ctl_rule", "--file", self.file(rule("SELECT * FROM 'ctl/in'")),
                        expect=EXIT_CONFLICT)
        self.assertIn("already exists", proc.stderr)

        got = self.ctl_json(*k, "rules", "get", "ctl_rule")
        self.assertEqual(got["rule"]["sql"], "SELECT * FROM 'ctl/in'")
        self.assertTrue(got["ruleArn"].endswith(":rule/ctl_rule"))

        self.ctl(*k, "rules", "replace", "ctl_rule", "-f", "-",
                 stdin=json.dumps(rule("SELECT a FROM 'ctl/other'")), expect=EXIT_OK)
        self.ctl(*k, "rules", "disable", "ctl_rule", expect=EXIT_OK)
        listed = self.ctl_json(*k, "rules", "list", "--disabled")
        self.assertEqual([(r["ruleName"], r["topicPattern"]) for r in listed["rules"]], [("ctl_rule", "ctl/other")])
        self.assertEqual(self.ctl_json(*k, "rules", "list", "--enabled")["rules"], [])
        self.ctl(*k, "rules", "enable", "ctl_rule", expect=EXIT_OK)
        proc = self.ctl(*k, "rules", "list", expect=EXIT_OK)
        self.assertEqual(proc.stdout.split(), ["ctl_rule", "enabled", "ctl/other"])

        self.ctl(*k, "rules", "delete", "ctl_rule", expect=EXIT_OK)
        proc = self.ctl(*k, "rules", "get", "ctl_rule", expect=EXIT_NOT_FOUND)
        self.assertIn("no rule 'ctl_rule'", proc.stderr)

    def test_list_follows_pages(self):
        k = self.keys()
        names = ["pg_%d" % i for i in range(5)]
        for n in names:
            self.ctl(*k, "rules", "create", n, "--file", self.file(rule("SELECT * FROM 'pg/x'")), expect=EXIT_OK)
            self.addCleanup(self.ctl, *k, "rules", "delete", n)
        listed = self.ctl_json(*k, "rules", "list", "--page-size", "2", "--topic", "pg/x")
        self.assertEqual([r["ruleName"] for r in listed["rules"]], names)

    def test_errors(self):
        k = self.keys()
        proc = self.ctl(*k, "rules", "create", "bad_sql", "--file", self.file(rule("SELECT * FORM 'x'")),
                        expect=EXIT_REQUEST)
        self.assertIn("SqlParseException", proc.stderr)
        self.assertIn("line 1, column 10", proc.stderr)
        self.ctl(*k, "rules", "create", "no_file", "--file", "/nonexistent.json", expect=EXIT_USAGE)
        self.ctl(*k, "rules", "enable", "missing_rule", expect=EXIT_NOT_FOUND)
        self.ctl(*k, "rules", expect=EXIT_USAGE)  # a rules command is required


if __name__ == "__main__":
    unittest.main()
