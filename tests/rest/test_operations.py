"""Every iot-data shadow operation through boto3, unchanged except for
endpoint_url: get/update/delete of classic and named shadows,
ListNamedShadowsForThing across pages, and Publish."""

import json
import unittest

from shadowtest.rest import RestTestCase, payload_json


class ShadowOperations(RestTestCase):

    def test_update_get_delete_classic(self):
        r = self.iot.update_thing_shadow(
            thingName="ops1",
            payload=b'{"state":{"desired":{"color":"red"},"reported":{"color":"blue"}},"clientToken":"c1"}')
        meta = r["ResponseMetadata"]
        self.assertEqual(meta["HTTPStatusCode"], 200)
        self.assertTrue(meta["HTTPHeaders"]["content-type"].startswith("application/json"), meta)
        self.assertTrue(meta["HTTPHeaders"].get("x-amzn-requestid"), meta)
        accepted = payload_json(r)
        self.assertEqual(accepted["state"], {"desired": {"color": "red"}, "reported": {"color": "blue"}})
        t = accepted["timestamp"]
        self.assertTimestamp(t)
        self.assertEqual(accepted["metadata"], {"desired": {"color": {"timestamp": t}},
                                                "reported": {"color": {"timestamp": t}}})
        self.assertEqual(accepted["version"], 1)
        self.assertEqual(accepted["clientToken"], "c1")

        got = self.rest_get("ops1")
        self.assertEqual(got["state"], {"desired": {"color": "red"}, "reported": {"color": "blue"},
                                        "delta": {"color": "red"}})
        self.assertEqual(got["metadata"], {"desired": {"color": {"timestamp": t}},
                                           "reported": {"color": {"timestamp": t}}})
        self.assertEqual(got["version"], 1)
        self.assertTimestamp(got["timestamp"])
        self.assertNotIn("clientToken", got)

        second = self.rest_update("ops1", {"state": {"reported": {"color": "red"}}, "version": 1})
        self.assertEqual(second["version"], 2)
        self.assertNotIn("clientToken", second)
        got = self.rest_get("ops1")
        self.assertEqual(got["state"], {"desired": {"color": "red"}, "reported": {"color": "red"}})

        deleted = self.rest_delete("ops1")
        self.assertEqual(set(deleted), {"version", "timestamp"})
        self.assertEqual(deleted["version"], 2)
        self.assertTimestamp(deleted["timestamp"])
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="ops1")

    def test_named_shadows_are_independent_of_the_classic_one(self):
        self.rest_update("ops2", {"state": {"reported": {"a": 1}}})
        self.rest_update("ops2", {"state": {"desired": {"b": 2}}}, shadow="cfg")
        classic = self.rest_get("ops2")
        named = self.rest_get("ops2", "cfg")
        self.assertEqual((classic["state"], classic["version"]), ({"reported": {"a": 1}}, 1))
        self.assertEqual((named["state"], named["version"]),
                         ({"desired": {"b": 2}, "delta": {"b": 2}}, 1))

        self.assertEqual(self.rest_delete("ops2", "cfg")["version"], 1)
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="ops2", shadowName="cfg")
        # The classic shadow is untouched by the named delete.
        self.assertEqual(self.rest_get("ops2")["state"], {"reported": {"a": 1}})

    def test_recreate_after_delete_continues_the_version(self):
        self.rest_update("ops3", {"state": {"reported": {"x": 1}}})
        self.rest_update("ops3", {"state": {"reported": {"x": 2}}})
        self.assertEqual(self.rest_delete("ops3")["version"], 2)
        again = self.rest_update("ops3", {"state": {"reported": {"x": 3}}})
        # The version never goes back: a re-created shadow is newer.
        self.assertGreater(again["version"], 2)
        self.assertEqual(self.rest_get("ops3")["state"], {"reported": {"x": 3}})

    def test_list_named_shadows_across_pages(self):
        names = ["s%d" % i for i in (4, 0, 6, 2, 5, 1, 3)]   # created out of order
        for n in names:
            self.rest_update("lister", {"state": {"reported": {"n": n}}}, shadow=n)
        self.rest_update("lister", {"state": {"reported": {"classic": True}}})
        self.rest_update("lister", {"state": {"reported": {"gone": True}}}, shadow="s3b")
        self.rest_delete("lister", "s3b")

        pages = []
        token = None
        for _ in range(10):  # bounded: 3 pages are expected
            args = {"thingName": "lister", "pageSize": 3}
            if token is not None:
                args["nextToken"] = token
            page = self.iot.list_named_shadows_for_thing(**args)
            self.assertTimestamp(page["timestamp"])
            pages.append(page["results"])
            token = page.get("nextToken")
            if token is None:
                break
        self.assertEqual(pages, [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]])

        whole = self.iot.list_named_shadows_for_thing(thingName="lister")
        self.assertEqual(whole["results"], sorted(names))
        self.assertNotIn("nextToken", whole)

        # A page that ends with the last name has no token: one would send the
        # client to an empty page.
        exact = self.iot.list_named_shadows_for_thing(thingName="lister", pageSize=7)
        self.assertEqual(exact["results"], sorted(names))
        self.assertNotIn("nextToken", exact)

    def test_list_for_a_thing_without_named_shadows(self):
        self.rest_update("onlyclassic", {"state": {"reported": {"a": 1}}})
        for thing in ("onlyclassic", "nobody"):
            page = self.iot.list_named_shadows_for_thing(thingName=thing)
            self.assertEqual(page["results"], [])
            self.assertNotIn("nextToken", page)

    def test_names_with_every_allowed_character(self):
        thing, shadow = "Thing:a_b-C9", "$sh:a_b-Z9"
        self.rest_update(thing, {"state": {"reported": {"k": 1}}}, shadow=shadow)
        self.assertEqual(self.rest_get(thing, shadow)["state"], {"reported": {"k": 1}})
        self.assertEqual(self.iot.list_named_shadows_for_thing(thingName=thing)["results"], [shadow])

    def test_publish_returns_ok(self):
        r = self.iot.publish(topic="rest/ops/plain", qos=1, payload=b"hello")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        # botocore ignores the body; AWS sends {"message":"OK","traceId":...}.
        raw = r["ResponseMetadata"]["HTTPHeaders"]
        self.assertTrue(raw.get("x-amzn-requestid"), raw)


class BodyFormats(RestTestCase):
    """The body of a successful call is the raw document."""

    def test_update_body_is_compact_json_in_aws_key_order(self):
        r = self.iot.update_thing_shadow(thingName="fmt1", payload=b'{"state":{"reported":{"a":1}}}')
        body = r["payload"].read()
        doc = json.loads(body)
        self.assertEqual(list(doc), ["state", "metadata", "version", "timestamp"])
        self.assertEqual(body, json.dumps(doc, separators=(",", ":")).encode())


if __name__ == "__main__":
    unittest.main()
