#!/usr/bin/python3
"""Writes botocore.json: requests exactly as botocore signs and sends them,
the reference signatures tests/unit/sigv4_test.cc checks our SigV4 signer
and verifier against.

Run by hand, from the top of the checkout, when the cases below change or to check a newer
botocore (Debian's python3-botocore and python3-boto3):

    PYTHONPATH=tests/lib /usr/bin/python3 tests/unit/sigv4_vectors/generate.py

and commit the rewritten botocore.json. The output is deterministic: the
signers' clock is fixed per case, and nothing goes on the network (a
`before-send` hook captures the final prepared request, the bytes botocore
would put on the wire, and answers with a dummy response).

With awscrt installed (python3-awscrt), boto3 clients sign with the CRT
signer and the direct cases with botocore's Python one, so both are covered.

Each request: case, method, path and query (the raw, still percent-encoded
parts of the URL), headers ([name, value] pairs as sent), body_hex,
timestamp (the signing time, YYYYMMDDTHHMMSSZ), region, service,
signed_headers and authorization (what botocore sent).
"""
import datetime
import json
import os
import re
import sys
from urllib.parse import urlsplit

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from shadowtest.signing_clock import signing_clock

ACCESS_KEY = "AKIDBOTOCORETEST"
SECRET_KEY = "botocore/Secret+Key0123456789"
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "botocore.json")

# Signing times: most cases sign at the first; the last is the end of a
# year, so the credential scope's date is not the next second's.
AT = datetime.datetime(2024, 5, 17, 9, 26, 53)
YEAR_END = datetime.datetime(2023, 12, 31, 23, 59, 59)


def clock_at(when):
    """Both signers sign at `when`."""
    return signing_clock(lambda: when)


class _DummyRaw:
    """Enough of a urllib3 response for botocore's parser."""

    def stream(self, *args, **kwargs):
        yield b"{}"

    def read(self, *args, **kwargs):
        return b"{}"


def text(value):
    return value if isinstance(value, str) else value.decode("latin-1")


# Unsigned headers whose values change from run to run (a fresh UUID, the
# machine's versions), pinned so that the file only changes when a signature
# does. Being unsigned, they cannot affect the signature.
PINNED = {"user-agent": "Boto3 Botocore (pinned by generate.py)",
          "amz-sdk-invocation-id": "00000000-0000-4000-8000-000000000000"}


def vector(case, method, url, headers, body, timestamp):
    parts = urlsplit(url)
    if isinstance(body, str):
        body = body.encode("utf-8")
    authorization = text(headers["Authorization"])
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=[0-9a-f]{64}", authorization)
    if m is None:
        raise SystemExit("%s: unexpected Authorization header %r" % (case, authorization))
    signed = m.group(3).split(";")
    sent = []
    for name, value in headers.items():
        if name.lower() in PINNED and name.lower() not in signed:
            value = PINNED[name.lower()]
        sent.append([name, text(value)])
    return {
        "case": case,
        "method": method,
        "path": parts.path,
        "query": parts.query,
        "headers": sent,
        "body_hex": (body or b"").hex(),
        "timestamp": timestamp,
        "region": m.group(1),
        "service": m.group(2),
        "signed_headers": signed,
        "authorization": authorization,
    }


def client_requests():
    """Each iot-data operation shape we serve, through boto3's own serializer."""
    client = boto3.client(
        "iot-data", endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 0}))
    out = []
    current = {}

    def before_send(request, **kwargs):
        out.append(vector(current["case"], request.method, request.url, request.headers,
                          request.body, text(request.headers["X-Amz-Date"])))
        return AWSResponse(request.url, 200, {}, _DummyRaw())

    client.meta.events.register("before-send.iot-data", before_send)
    user_props = [{"color": "blue"}, {"size": "a b  c"}]
    calls = [
        ("get-classic", AT, lambda: client.get_thing_shadow(thingName="thing1")),
        ("get-named", AT, lambda: client.get_thing_shadow(thingName="thing1", shadowName="cfg")),
        ("get-named-reserved-characters", AT,
         lambda: client.get_thing_shadow(thingName="Thing:a_b-C9", shadowName="$sh:a_b-Z9")),
        ("update-named", AT, lambda: client.update_thing_shadow(
            thingName="thing1", shadowName="cfg",
            payload=b'{"state":{"desired":{"color":"red"}}}')),
        ("update-utf8-body", AT, lambda: client.update_thing_shadow(
            thingName="thing1", payload='{"state":{"reported":{"name":"café ☕"}}}'.encode())),
        ("delete-named", AT, lambda: client.delete_thing_shadow(thingName="thing1", shadowName="cfg")),
        ("list-named", AT, lambda: client.list_named_shadows_for_thing(
            thingName="thing1", pageSize=5, nextToken="abc=")),
        ("list-named-token-to-encode", YEAR_END, lambda: client.list_named_shadows_for_thing(
            thingName="thing1", pageSize=100, nextToken="a/b+c==")),
        ("publish-shadow-update", AT, lambda: client.publish(
            topic="$aws/things/thing1/shadow/update", qos=1,
            payload=b'{"state":{"reported":{"on":true}}}')),
        ("publish-utf8-topic", AT, lambda: client.publish(
            topic="sensors/température 1/a+b", qos=0, payload=b"21.5")),
        ("publish-mqtt5", AT, lambda: client.publish(
            topic="a b/c+d/~x", qos=0, retain=True, contentType="text/plain",
            responseTopic="r/t", messageExpiry=60, userProperties=user_props,
            payload=b"hello")),
    ]
    for case, when, call in calls:
        current["case"] = case
        with clock_at(when):
            call()
    return out


def direct_requests():
    """Variants botocore produces only when asked: a Date header instead of
    X-Amz-Date, and UNSIGNED-PAYLOAD."""
    creds = Credentials(ACCESS_KEY, SECRET_KEY)
    out = []

    request = AWSRequest(method="POST", url="http://127.0.0.1:1/things/thing1/shadow",
                         data=b'{"state":{}}',
                         headers={"Host": "127.0.0.1:1", "Date": "placeholder"})
    with clock_at(AT):
        SigV4Auth(creds, "iotdevicegateway", "eu-west-1").add_auth(request)
    out.append(vector("date-header", request.method, request.url, request.headers, request.body,
                      request.context["timestamp"]))

    request = AWSRequest(method="POST", url="https://127.0.0.1:1/things/thing1/shadow?name=cfg",
                         data=b'{"state":{}}', headers={"Host": "127.0.0.1:1"})
    request.context["payload_signing_enabled"] = False
    with clock_at(AT):
        SigV4Auth(creds, "iotdata", "ap-southeast-2").add_auth(request)
    out.append(vector("unsigned-payload", request.method, request.url, request.headers, request.body,
                      request.context["timestamp"]))
    return out


def dump(value, indent=""):
    """JSON for reading in a diff: objects one member per line, lists of
    plain values (a header, the signed header names) on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        members = ["%s%s: %s" % (inner, json.dumps(k), dump(v, inner)) for k, v in value.items()]
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [inner + dump(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def main():
    requests = client_requests() + direct_requests()
    doc = {
        "about": "Requests signed by botocore %s (boto3 %s). Written by "
                 "tests/unit/sigv4_vectors/generate.py; do not edit." % (botocore.__version__,
                                                                         boto3.__version__),
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "requests": requests,
    }
    with open(OUTPUT, "w") as f:
        f.write(dump(doc) + "\n")
    print("wrote %d requests to %s" % (len(requests), OUTPUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
