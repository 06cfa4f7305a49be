"""Fleet search through the stock clients: boto3's `iot` client and the AWS
CLI (`aws iot search-index`, `aws iot get-statistics`) with --endpoint-url
against a real broker. Response shapes, named shadows, paging, consistency
right after updates, statistics, the index routes and every kind of bad
request (docs/fleet.md#search)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from shadowtest.fleet import fill, search_all
from shadowtest.rest import ACCESS_KEY, ClientError, RestTestCase, SECRET_KEY, make_iot_client, raw_request

AWS_CLI = "/usr/bin/aws"
CLI_TIMEOUT_S = 60


class Search(RestTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.control = make_iot_client(cls.broker)
        docs = []
        for line in range(1, 4):
            for n in range(20):
                thing = "line-%d-dev-%02d" % (line, n)
                docs.append((thing, None, {"reported": {"temp": line * 10 + n, "fw": "v1.%d" % (n % 3),
                                                        "mode": "Eco Plus" if n % 2 else "boost"},
                                           "desired": {"temp": line * 10 + n + (n % 4 == 0)}}))
                if n % 5 == 0:
                    docs.append((thing, "cfg", {"reported": {"interval": n}}))
        fill(cls.broker.port, docs)

    def search(self, query, **kw):
        return self.control.search_index(indexName="AWS_Things", queryString=query, **kw)

    def assertQueryError(self, query, fragment):
        with self.assertRaises(ClientError) as ctx:
            self.search(query)
        err = self.assertClientError(ctx, "InvalidQueryException", 400)
        self.assertIn(fragment, err["Error"]["Message"])
        return err["Error"]["Message"]

    # --- results ---------------------------------------------------------------
    def test_thing_document_shape(self):
        r = self.search("thingName:line-1-dev-04")
        self.assertNotIn("nextToken", r)
        self.assertEqual(len(r["things"]), 1)
        t = r["things"][0]
        self.assertEqual(t["thingName"], "line-1-dev-04")
        self.assertNotIn("connectivity", t)  # no presence feature in this build
        for absent in ("thingId", "thingTypeName", "thingGroupNames", "attributes"):
            self.assertNotIn(absent, t)
        shadow = json.loads(t["shadow"])  # a JSON string, as AWS sends it
        self.assertEqual(shadow["reported"]["temp"], 14)
        self.assertEqual(shadow["desired"]["temp"], 15)
        self.assertEqual(shadow["delta"], {"temp": 15})
        self.assertIs(shadow["hasDelta"], True)
        self.assertEqual(shadow["version"], 1)
        self.assertTimestamp(shadow["metadata"]["reported"]["temp"]["timestamp"])
        self.assertNotIn("name", shadow)

    def test_named_shadows_where_the_query_names_them(self):
        r = self.search("shadow.name.cfg.reported.interval >= 10 AND thingName:line-2*")
        names = [t["thingName"] for t in r["things"]]
        self.assertEqual(names, ["line-2-dev-10", "line-2-dev-15"])
        shadow = json.loads(r["things"][0]["shadow"])
        self.assertEqual(shadow["name"]["cfg"]["reported"], {"interval": 10})
        self.assertIs(shadow["name"]["cfg"]["hasDelta"], False)
        self.assertEqual(shadow["reported"]["temp"], 30)

    def test_query_language(self):
        cases = {
            "shadow.reported.temp > 35 AND thingName:line-2*": ["line-2-dev-%02d" % n for n in range(16, 20)],
            "shadow.reported.temp:[31 TO 33]": ["line-2-dev-11", "line-2-dev-12", "line-2-dev-13",
                                                "line-3-dev-01", "line-3-dev-02", "line-3-dev-03"],
            "shadow.reported.temp:{31 TO 33}": ["line-2-dev-12", "line-3-dev-02"],
            "thingName:line-1-dev-0? AND shadow.hasDelta:true": ["line-1-dev-00", "line-1-dev-04", "line-1-dev-08"],
            "shadow.delta.temp:21": ["line-2-dev-00"],
            "shadow.reported.mode:plus AND shadow.reported.fw:v1.0 AND thingName:line-1*":
                ["line-1-dev-03", "line-1-dev-09", "line-1-dev-15"],
            "shadow.reported.mode:\"eco plus\" AND shadow.reported.temp < 14": ["line-1-dev-01", "line-1-dev-03"],
            "(thingName:line-1-dev-00 OR thingName:line-3-dev-19) NOT shadow.reported.temp:49": ["line-1-dev-00"],
            "thingName:line-1* -shadow.reported.temp:[* TO 18]": ["line-1-dev-%02d" % n for n in range(9, 20)],
            "shadow.name.cfg.reported.interval:* AND thingName:line-3*": ["line-3-dev-%02d" % n for n in (0, 5, 10, 15)],
            "NOT shadow.name.cfg.hasDelta:false AND thingName:line-1-dev-0*":
                ["line-1-dev-%02d" % n for n in range(10) if n not in (0, 5)],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(search_all(self.control, query), expected)

    def test_paging(self):
        everything = search_all(self.control, "thingName:line-*")
        self.assertEqual(len(everything), 60)
        for size in (1, 7, 20, 60, 500):
            with self.subTest(size=size):
                self.assertEqual(search_all(self.control, "thingName:line-*", page_size=size), everything)
        first = self.search("thingName:line-*", maxResults=7)
        self.assertEqual(len(first["things"]), 7)
        self.assertIn("nextToken", first)
        second = self.search("thingName:line-*", maxResults=7, nextToken=first["nextToken"])
        self.assertEqual([t["thingName"] for t in second["things"]], everything[7:14])
        # The default page.
        self.assertEqual(len(self.search("thingName:line-*")["things"]), 60)

    def test_consistent_right_after_updates(self):
        """A shadow updated before the search request is found in its new
        state: the search reads the store itself, no index lags behind."""
        for n in range(30):
            self.rest_update("fresh-thing", {"state": {"reported": {"counter": n}}})
            r = self.search("shadow.reported.counter:%d AND thingName:fresh-thing" % n)
            self.assertEqual([t["thingName"] for t in r["things"]], ["fresh-thing"], n)
            self.assertEqual(json.loads(r["things"][0]["shadow"])["version"], n + 1)
        # Over MQTT too: once the accepted reply is in, the search sees it.
        p = "$aws/things/fresh-mqtt/shadow"
        c = self.client("dev", p + "/update/accepted", p + "/update/rejected")
        for n in range(10):
            c.request(p, "update", {"state": {"reported": {"counter": n}}})
            self.assertEqual(search_all(self.control, "thingName:fresh-mqtt AND shadow.reported.counter:%d" % n),
                             ["fresh-mqtt"])
        # A deleted shadow is gone from the next search.
        self.rest_delete("fresh-thing")
        self.assertEqual(search_all(self.control, "thingName:fresh-thing"), [])

    # --- statistics --------------------------------------------------------------
    def test_statistics(self):
        s = self.control.get_statistics(indexName="AWS_Things", queryString="thingName:line-1*",
                                        aggregationField="shadow.reported.temp")["statistics"]
        temps = [10 + n for n in range(20)]
        self.assertEqual(s["count"], 20)
        self.assertAlmostEqual(s["average"], sum(temps) / 20)
        self.assertEqual(s["minimum"], 10)
        self.assertEqual(s["maximum"], 29)
        self.assertEqual(s["sum"], sum(temps))
        self.assertEqual(s["sumOfSquares"], sum(t * t for t in temps))
        mean = sum(temps) / 20
        variance = sum((t - mean) ** 2 for t in temps) / 20
        self.assertAlmostEqual(s["variance"], variance)
        self.assertAlmostEqual(s["stdDeviation"], variance ** 0.5)
        count = self.control.get_statistics(queryString="thingName:line-*")["statistics"]
        self.assertEqual(count, {"count": 60})
        strings = self.control.get_statistics(queryString="thingName:line-*",
                                              aggregationField="shadow.reported.mode")["statistics"]
        self.assertEqual(strings, {"count": 60})
        with self.assertRaises(ClientError) as ctx:
            self.control.get_statistics(queryString="*", aggregationField="attributes.weight")
        self.assertClientError(ctx, "InvalidAggregationException", 400)

    # --- index routes ---------------------------------------------------------
    def test_index_routes(self):
        self.assertEqual(self.control.list_indices()["indexNames"], ["AWS_Things"])
        d = self.control.describe_index(indexName="AWS_Things")
        self.assertEqual((d["indexName"], d["indexStatus"]), ("AWS_Things", "ACTIVE"))
        with self.assertRaises(ClientError) as ctx:
            self.control.describe_index(indexName="AWS_ThingGroups")
        self.assertClientError(ctx, "ResourceNotFoundException", 404)
        with self.assertRaises(ClientError) as ctx:
            self.control.search_index(indexName="AWS_ThingGroups", queryString="*")
        self.assertClientError(ctx, "ResourceNotFoundException", 404)
        with self.assertRaises(ClientError) as ctx:
            self.control.get_buckets_aggregation(queryString="*", aggregationField="thingName",
                                                 bucketsAggregationType={"termsAggregation": {"maxBuckets": 2}})
        self.assertClientError(ctx, "InvalidRequestException", 400)

    # --- bad requests -------------------------------------------------------------
    def test_syntax_errors_name_the_token_and_position(self):
        self.assertEqual(self.assertQueryError("thingName:a AND", "position 16"),
                         "syntax error at position 16 near the end of the query: a term must follow 'AND'")
        self.assertQueryError("shadow.reported.temp:[1 TO", "position 27")
        self.assertQueryError("(thingName:a", "expected ')'")
        self.assertQueryError("thingName:a)", "near ')'")
        self.assertQueryError("thingName:a@b", "'@' at position 12")
        self.assertQueryError("   ", "empty")

    def test_fields_we_do_not_have(self):
        for query in ("attributes.model:legacy", "thingTypeName:bulb", "thingGroupNames:g1", "thingId:x",
                      "registry.version:1"):
            with self.subTest(query=query):
                self.assertQueryError(query, "no thing registry")
        self.assertQueryError("temp > 5", "unknown field 'temp'")

    def test_bad_parameters(self):
        with self.assertRaises(ClientError) as ctx:
            self.control.search_index(queryString="*", nextToken="!!")
        self.assertClientError(ctx, "InvalidRequestException", 400)
        for body in (b'{"queryString":"*","maxResults":501}', b'{"queryString":"*","maxResults":0}',
                     b'{"queryString":"*","maxResults":"5"}', b'{"queryString":5}'):
            with self.subTest(body=body):
                r = raw_request(self.broker, "POST", "/indices/search", body, service="execute-api")
                self.assertEqual((r.status, r.error_type()), (400, "InvalidRequestException"), r)
        r = raw_request(self.broker, "POST", "/indices/search", b"{not json", service="execute-api")
        self.assertEqual((r.status, r.error_type()), (400, "InvalidRequestException"))
        r = raw_request(self.broker, "POST", "/indices/search", b"{}", service="execute-api")
        self.assertEqual((r.status, r.error_type()), (400, "InvalidRequestException"))
        self.assertIn("queryString", r.json()["message"])
        r = raw_request(self.broker, "GET", "/indices/search", service="execute-api")
        self.assertEqual(r.status, 405)
        # Control-plane routes want the control-plane signature.
        r = raw_request(self.broker, "POST", "/indices/search", b'{"queryString":"*"}', service="iotdata")
        self.assertEqual(r.status, 403)


class SearchCli(RestTestCase):
    """The AWS CLI v2 (Debian's /usr/bin/aws), configured only through the
    environment and --endpoint-url."""

    @classmethod
    def setUpClass(cls):
        if not os.access(AWS_CLI, os.X_OK):
            raise AssertionError("%s is missing: install Debian's awscli (scripts/install-deps.sh)" % AWS_CLI)
        super().setUpClass()
        fill(cls.broker.port, [("cli-%d" % n, None, {"reported": {"temp": n}}) for n in range(12)])

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shadow-fleet-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def aws(self, *args):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.tmp, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
               "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}
        p = subprocess.run([AWS_CLI, "iot", *args, "--endpoint-url", self.broker.endpoint, "--output", "json"],
                           env=env, capture_output=True, timeout=CLI_TIMEOUT_S)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_search_index(self):
        rc, out, err = self.aws("search-index", "--index-name", "AWS_Things",
                                "--query-string", "shadow.reported.temp > 8 AND thingName:cli-*")
        self.assertEqual(rc, 0, err)
        r = json.loads(out)
        self.assertEqual([t["thingName"] for t in r["things"]], ["cli-10", "cli-11", "cli-9"])
        self.assertEqual(json.loads(r["things"][0]["shadow"])["reported"], {"temp": 10})

    def test_paging_by_hand(self):
        rc, out, err = self.aws("search-index", "--query-string", "thingName:cli-*", "--max-results", "5")
        self.assertEqual(rc, 0, err)
        first = json.loads(out)
        self.assertEqual(len(first["things"]), 5)
        rc, out, err = self.aws("search-index", "--query-string", "thingName:cli-*", "--max-results", "5",
                                "--next-token", first["nextToken"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(json.loads(out)["things"]), 5)

    def test_get_statistics(self):
        rc, out, err = self.aws("get-statistics", "--query-string", "thingName:cli-*",
                                "--aggregation-field", "shadow.reported.temp")
        self.assertEqual(rc, 0, err)
        s = json.loads(out)["statistics"]
        self.assertEqual((s["count"], s["minimum"], s["maximum"], s["sum"]), (12, 0, 11, 66))

    def test_invalid_query(self):
        rc, out, err = self.aws("search-index", "--query-string", "thingName:(a")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidQueryException", err)
        self.assertIn("position 13", err)


if __name__ == "__main__":
    unittest.main()
