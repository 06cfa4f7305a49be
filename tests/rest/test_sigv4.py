"""AWS Signature Version 4 on the REST API: requests signed by
botocore with a key from plugin_opt_http_credentials_file are served; a wrong
secret, an unknown key, a request time outside the 15-minute window, a
missing signature or a tampered body get 403 and change nothing."""

import datetime
import unittest


from shadowtest.signing_clock import signing_clock
from shadowtest.rest import (ACCESS_KEY, ACCESS_KEY_2, ClientError, SECRET_KEY, SECRET_KEY_2, RestTestCase,
                       make_client, raw_request, sign_headers)


def clock_shifted(seconds):
    """Requests signed within the block carry X-Amz-Date = now + seconds."""
    real_utcnow = datetime.datetime.utcnow
    return signing_clock(lambda: real_utcnow() + datetime.timedelta(seconds=seconds))


class Sigv4(RestTestCase):

    def assertForbidden(self, call):
        with self.assertRaises(ClientError) as ctx:
            call()
        # botocore 1.29 has no ForbiddenException class; the code still
        # comes from x-amzn-ErrorType.
        return self.assertClientError(ctx, "ForbiddenException", 403)

    def assertAbsent(self, thing):
        with self.assertRaises(self.iot.exceptions.ResourceNotFoundException):
            self.iot.get_thing_shadow(thingName=thing)

    def test_no_unauthenticated_warning_with_sigv4(self):
        self.assertNotIn("without authentication", self.broker.log().lower())

    def test_right_secret_is_accepted(self):
        self.assertEqual(self.rest_update("sig1", {"state": {"reported": {"a": 1}}})["version"], 1)
        self.assertEqual(self.rest_get("sig1")["version"], 1)

    def test_second_key_of_the_file_is_accepted(self):
        other = make_client(self.broker, key=ACCESS_KEY_2, secret=SECRET_KEY_2)
        self.assertEqual(self.rest_update("sig2", {"state": {"reported": {"a": 1}}}, client=other)["version"], 1)

    def test_any_region_is_accepted(self):
        west = make_client(self.broker, region="eu-west-3")
        self.assertEqual(self.rest_update("sig3", {"state": {"reported": {"a": 1}}}, client=west)["version"], 1)

    def test_documented_service_name_is_accepted(self):
        # botocore signs as "iotdata"; the AWS documentation says "iotdevicegateway".
        r = raw_request(self.broker, "POST", "/things/sig4/shadow", b'{"state":{"reported":{"a":1}}}',
                        service="iotdevicegateway")
        self.assertEqual(r.status, 200, r)
        r = raw_request(self.broker, "GET", "/things/sig4/shadow", service="s3")
        self.assertEqual(r.status, 403, r)

    def test_wrong_secret_is_refused(self):
        bad = make_client(self.broker, secret=SECRET_KEY + "x")
        err = self.assertForbidden(lambda: self.rest_update("sig5", {"state": {"reported": {"a": 1}}}, client=bad))
        self.assertTrue(err["Error"]["Message"], err)
        self.assertForbidden(lambda: bad.get_thing_shadow(thingName="sig5"))
        self.assertForbidden(lambda: bad.list_named_shadows_for_thing(thingName="sig5"))
        self.assertForbidden(lambda: bad.publish(topic="rest/sig/x", qos=0, payload=b"x"))
        self.assertAbsent("sig5")

    def test_secret_of_another_key_is_refused(self):
        crossed = make_client(self.broker, key=ACCESS_KEY, secret=SECRET_KEY_2)
        self.assertForbidden(lambda: crossed.get_thing_shadow(thingName="sig6"))

    def test_unknown_access_key_is_refused(self):
        stranger = make_client(self.broker, key="AKIDUNKNOWN00000", secret=SECRET_KEY)
        self.assertForbidden(lambda: self.rest_update("sig7", {"state": {"reported": {"a": 1}}},
                                                      client=stranger))
        self.assertAbsent("sig7")

    def test_expired_request_time_is_refused(self):
        with clock_shifted(-20 * 60):
            self.assertForbidden(lambda: self.rest_update("sig8", {"state": {"reported": {"a": 1}}}))
        self.assertAbsent("sig8")

    def test_future_request_time_is_refused(self):
        with clock_shifted(20 * 60):
            self.assertForbidden(lambda: self.iot.get_thing_shadow(thingName="sig9"))

    def test_skew_inside_the_window_is_accepted(self):
        # 15 minutes either way are allowed; 10 minutes old must still work.
        with clock_shifted(-10 * 60):
            self.assertEqual(self.rest_update("sig10", {"state": {"reported": {"a": 1}}})["version"], 1)

    def test_missing_signature_is_refused(self):
        r = raw_request(self.broker, "POST", "/things/sig11/shadow", b'{"state":{"reported":{"a":1}}}',
                        sign=False)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.error_type(), "ForbiddenException", r)
        r = raw_request(self.broker, "GET", "/api/things/shadow/ListNamedShadowsForThing/sig11", sign=False)
        self.assertEqual(r.status, 403, r)
        self.assertAbsent("sig11")

    def test_tampered_body_is_refused(self):
        signed_for = b'{"state":{"reported":{"a":1}}}'
        headers = sign_headers(self.broker, "POST", "/things/sig12/shadow", signed_for)
        r = raw_request(self.broker, "POST", "/things/sig12/shadow", b'{"state":{"reported":{"a":2}}}',
                        headers=headers, sign=False)
        self.assertEqual(r.status, 403, r)
        self.assertAbsent("sig12")

    def test_tampered_path_is_refused(self):
        headers = sign_headers(self.broker, "GET", "/things/sig13/shadow")
        r = raw_request(self.broker, "GET", "/things/other13/shadow", headers=headers, sign=False)
        self.assertEqual(r.status, 403, r)

    def test_signed_publish_to_encoded_topic(self):
        # The topic is one percent-encoded path segment; the signature covers
        # it encoded once more (botocore's canonical URI).
        r = self.iot.publish(topic="$aws/things/sig14/shadow/update", qos=1,
                             payload=b'{"state":{"reported":{"p":1}}}')
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)


class AuthNone(RestTestCase):
    """plugin_opt_http_auth none: for local development, no signature needed."""
    broker_auth = "none"

    def test_unsigned_requests_are_served(self):
        r = raw_request(self.broker, "POST", "/things/open1/shadow", b'{"state":{"reported":{"a":1}}}',
                        sign=False)
        self.assertEqual(r.status, 200, r)
        r = raw_request(self.broker, "GET", "/things/open1/shadow", sign=False)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["state"], {"reported": {"a": 1}})

    def test_signed_requests_still_work(self):
        self.assertEqual(self.rest_update("open2", {"state": {"reported": {"a": 1}}})["version"], 1)

    def test_startup_warns(self):
        lines = [line.lower() for line in self.broker.log().splitlines()]
        # Plugin log lines carry no level prefix in mosquitto's log; the text says it.
        self.assertTrue([line for line in lines if "http_auth none" in line
                         and "without authentication" in line], lines)


if __name__ == "__main__":
    unittest.main()
