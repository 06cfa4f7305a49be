"""Every typed error a client can provoke arrives as botocore's typed
exception: the server sends x-amzn-ErrorType and a JSON body (docs/rest-api.md).
Authentication errors (403) are in test_sigv4.py."""

import unittest

from shadowtest.rest import RestTestCase, make_client, raw_request

MAX_PAYLOAD = 131072  # the default plugin_opt_max_payload_bytes


class TypedErrors(RestTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # botocore checks minimum lengths and pageSize >= 1 itself; this one
        # sends whatever it is given so the server's checks are reached.
        cls.unchecked = make_client(cls.broker, validate=False)

    def assertRawError(self, r, status, error_type):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.error_type(), error_type, r)
        self.assertTrue(r.header("content-type").startswith("application/json"), r)
        self.assertIsInstance(r.json().get("message"), str, r)

    # --- 404 ------------------------------------------------------------------
    def test_get_missing_classic(self):
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException) as ctx:
            self.iot.get_thing_shadow(thingName="missing1")
        self.assertClientError(ctx, "ResourceNotFoundException", 404,
                               "No shadow exists with name: 'missing1'")

    def test_get_missing_named_names_thing_tilde_shadow(self):
        self.rest_update("dev1", {"state": {"reported": {"a": 1}}})
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException) as ctx:
            self.iot.get_thing_shadow(thingName="dev1", shadowName="cfg")
        self.assertClientError(ctx, "ResourceNotFoundException", 404,
                               "No shadow exists with name: 'dev1~cfg'")

    def test_delete_missing(self):
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException) as ctx:
            self.iot.delete_thing_shadow(thingName="missing2", shadowName="x")
        self.assertClientError(ctx, "ResourceNotFoundException", 404,
                               "No shadow exists with name: 'missing2~x'")

    def test_raw_404_has_header_and_json_body(self):
        r = raw_request(self.broker, "GET", "/things/missing3/shadow")
        self.assertRawError(r, 404, "ResourceNotFoundException")
        self.assertEqual(r.json()["message"], "No shadow exists with name: 'missing3'")

    def test_unknown_route_is_404(self):
        for path in ("/nothing/here", "/things/x/shadows", "/things/x", "/api/things/shadow/Other/x"):
            r = raw_request(self.broker, "GET", path)
            self.assertEqual(r.status, 404, (path, r))
            self.assertEqual(r.error_type(), "ResourceNotFoundException", (path, r))

    # --- 409 ------------------------------------------------------------------
    def test_version_conflict(self):
        for i in range(3):
            self.rest_update("conf1", {"state": {"desired": {"x": i}}})
        with self.assertRaises(self.iot.exceptions.ConflictException) as ctx:
            self.iot.update_thing_shadow(
                thingName="conf1", payload=b'{"state":{"desired":{"x":1}},"version":99,"clientToken":"k"}')
        self.assertClientError(ctx, "ConflictException", 409, "Version conflict")
        self.assertEqual(self.rest_get("conf1")["version"], 3)
        self.assertEqual(self.rest_get("conf1")["state"]["desired"], {"x": 2})

    # --- 400 ------------------------------------------------------------------
    def test_invalid_json(self):
        with self.assertRaises(self.iot.exceptions.InvalidRequestException) as ctx:
            self.iot.update_thing_shadow(thingName="bad1", payload=b'{"state":')
        self.assertClientError(ctx, "InvalidRequestException", 400, "Payload contains invalid json")

    def test_invalid_documents(self):
        cases = [
            (b"{}", "Missing required node: state"),
            (b"60", "Missing required node: state"),
            (b'{"state":"on"}', "State node must be an object"),
            (b'{"state":{"desired":1}}', "Desired node must be an object"),
            (b'{"state":{"other":{}}}', "State contains an invalid node: 'other'"),
            (b'{"state":{"desired":{}},"version":-1}', "Invalid version"),
            (b'{"state":{"desired":{}},"clientToken":"' + b"t" * 65 + b'"}', "Invalid clientToken"),
            (b'{"state":{"desired":{"1":{"2":{"3":{"4":{"5":{"6":{"7":"x"}}}}}}}}}',
             "JSON contains too many levels of nesting; maximum is 6"),
        ]
        for payload, message in cases:
            with self.subTest(payload=payload):
                with self.assertRaises(self.iot.exceptions.InvalidRequestException) as ctx:
                    self.iot.update_thing_shadow(thingName="bad2", payload=payload)
                self.assertClientError(ctx, "InvalidRequestException", 400, message)
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="bad2")

    def test_bad_names(self):
        calls = [
            lambda: self.unchecked.get_thing_shadow(thingName="bad!name"),
            lambda: self.unchecked.get_thing_shadow(thingName="t" * 129),
            lambda: self.unchecked.get_thing_shadow(thingName="ok", shadowName="s" * 65),
            lambda: self.unchecked.update_thing_shadow(thingName="ok", shadowName="sp ace",
                                                       payload=b'{"state":{}}'),
            lambda: self.unchecked.delete_thing_shadow(thingName="a/b"),
            lambda: self.unchecked.list_named_shadows_for_thing(thingName="bad#thing"),
        ]
        # Each boto3 session makes its own exception classes: use the caller's.
        for i, call in enumerate(calls):
            with self.subTest(case=i):
                with self.assertRaises(self.unchecked.exceptions.InvalidRequestException) as ctx:
                    call()
                self.assertClientError(ctx, "InvalidRequestException", 400)

    def test_empty_name_query_is_rejected(self):
        r = raw_request(self.broker, "GET", "/things/ok/shadow?name=")
        self.assertRawError(r, 400, "InvalidRequestException")

    def test_page_size_out_of_range(self):
        for size in (0, 101):
            with self.subTest(pageSize=size):
                with self.assertRaises(self.unchecked.exceptions.InvalidRequestException) as ctx:
                    self.unchecked.list_named_shadows_for_thing(thingName="pg", pageSize=size)
                self.assertClientError(ctx, "InvalidRequestException", 400)
        for query in ("pageSize=abc", "pageSize=-1", "nextToken=%21%21%21"):
            with self.subTest(query=query):
                r = raw_request(self.broker, "GET", "/api/things/shadow/ListNamedShadowsForThing/pg?" + query)
                self.assertRawError(r, 400, "InvalidRequestException")

    def test_publish_qos_out_of_range(self):
        with self.assertRaises(self.unchecked.exceptions.InvalidRequestException) as ctx:
            self.unchecked.publish(topic="rest/err/qos", qos=2, payload=b"x")
        self.assertClientError(ctx, "InvalidRequestException", 400)

    # --- 413 ------------------------------------------------------------------
    def test_merged_document_over_8k(self):
        first = self.rest_update("big1", {"state": {"desired": {"a": "x" * 5000}}})
        self.assertEqual(first["version"], 1)
        # This request alone is small; the merged document is not.
        with self.assertRaises(self.iot.exceptions.RequestEntityTooLargeException) as ctx:
            self.rest_update("big1", {"state": {"reported": {"b": "y" * 5000}}})
        self.assertClientError(ctx, "RequestEntityTooLargeException", 413,
                               "The payload exceeds the maximum size allowed")
        got = self.rest_get("big1")
        self.assertEqual(got["version"], 1)
        self.assertNotIn("reported", got["state"])

    def test_body_over_payload_cap(self):
        # Valid JSON with a tiny state: only the transport cap can refuse it.
        body = b'{"state":{"reported":{"a":1}}' + b" " * MAX_PAYLOAD + b"}"
        with self.assertRaises(self.iot.exceptions.RequestEntityTooLargeException) as ctx:
            self.iot.update_thing_shadow(thingName="big2", payload=body)
        self.assertClientError(ctx, "RequestEntityTooLargeException", 413)
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="big2")

    # --- 415 ------------------------------------------------------------------
    def test_non_utf8_body(self):
        with self.assertRaises(self.iot.exceptions.UnsupportedDocumentEncodingException) as ctx:
            self.iot.update_thing_shadow(thingName="enc1", payload=b'{"state":{"reported":{"s":"\xff"}}}')
        self.assertClientError(ctx, "UnsupportedDocumentEncodingException", 415,
                               "Unsupported documented encoding; supported encoding is UTF-8")

    # --- 405 ------------------------------------------------------------------
    def test_method_not_allowed(self):
        for method, path in (("PUT", "/things/x/shadow"), ("PATCH", "/things/x/shadow?name=a"),
                             ("DELETE", "/api/things/shadow/ListNamedShadowsForThing/x"),
                             ("GET", "/topics/a%2Fb")):
            with self.subTest(method=method, path=path):
                body = b'{"state":{}}' if method in ("PUT", "PATCH") else b""
                r = raw_request(self.broker, method, path, body)
                self.assertRawError(r, 405, "MethodNotAllowedException")
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName="x")

    # --- the body -------------------------------------------------------------
    # 500 (InternalFailureException) needs a storage failure, which a client
    # cannot cause: the unit tests cover the engine's storage-error paths.
    # 429 (ThrottlingException) is in tests/security/test_rate_limit.py.

    def test_error_body_is_the_error_document(self):
        # The body is the MQTT error document, clientToken included; botocore
        # takes the error code from x-amzn-ErrorType, not from "code".
        r = raw_request(self.broker, "POST", "/things/bodyerr/shadow", b'{"clientToken":"ct1"}')
        self.assertRawError(r, 400, "InvalidRequestException")
        self.assertEqual(r.body, b'{"code":400,"message":"Missing required node: state","clientToken":"ct1"}')


if __name__ == "__main__":
    unittest.main()
