#!/usr/bin/env python3
"""Print requests exactly as botocore signs and sends them, one JSON object per line.

Used by tests/unit/sigv4_test.cpp to check our SigV4 verifier against the real
signer. Nothing goes on the network: a `before-send` hook captures the final
prepared request (the bytes botocore would put on the wire) and answers with a
dummy response.

Usage: sigv4_botocore_check.py ACCESS_KEY_ID SECRET_ACCESS_KEY

Each line: {"case", "method", "path", "query", "headers": [[name, value]...],
"body_hex", "timestamp"} where path/query are the raw, still percent-encoded
parts of the URL and timestamp is the signing time (YYYYMMDDTHHMMSSZ).
Exit status 2 means botocore is not installed (the caller skips).
"""
import json
import sys
from urllib.parse import urlsplit

try:
    import boto3
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, AWSResponse
    from botocore.config import Config
    from botocore.credentials import Credentials
except ImportError as e:  # the C++ test turns this into a warning
    print(f"botocore unavailable: {e}", file=sys.stderr)
    sys.exit(2)


class _DummyRaw:
    """Enough of a urllib3 response for botocore's parser."""

    def stream(self, *args, **kwargs):
        yield b"{}"

    def read(self, *args, **kwargs):
        return b"{}"


def emit(case, method, url, headers, body, timestamp):
    parts = urlsplit(url)
    if isinstance(body, str):
        body = body.encode("utf-8")
    print(json.dumps({
        "case": case,
        "method": method,
        "path": parts.path,
        "query": parts.query,
        "headers": [[k, v if isinstance(v, str) else v.decode("latin-1")]
                    for k, v in headers.items()],
        "body_hex": (body or b"").hex(),
        "timestamp": timestamp,
    }))


def capture_client_requests(key, secret):
    """Each iot-data operation shape we serve, through boto3's own serializer."""
    retries = {"max_attempts": 0}
    client = boto3.client(
        "iot-data", endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries=retries))
    current = {}

    def before_send(request, **kwargs):
        headers = request.headers
        emit(current["case"], request.method, request.url, headers, request.body,
             headers["X-Amz-Date"] if isinstance(headers["X-Amz-Date"], str)
             else headers["X-Amz-Date"].decode())
        return AWSResponse(request.url, 200, {}, _DummyRaw())

    client.meta.events.register("before-send.iot-data", before_send)
    user_props = [{"color": "blue"}, {"size": "a b  c"}]
    calls = [
        ("get-classic", lambda: client.get_thing_shadow(thingName="thing1")),
        ("get-named", lambda: client.get_thing_shadow(thingName="thing1", shadowName="cfg")),
        ("update-named", lambda: client.update_thing_shadow(
            thingName="thing1", shadowName="cfg",
            payload=b'{"state":{"desired":{"color":"red"}}}')),
        ("delete-named", lambda: client.delete_thing_shadow(thingName="thing1", shadowName="cfg")),
        ("list-named", lambda: client.list_named_shadows_for_thing(
            thingName="thing1", pageSize=5, nextToken="abc=")),
        ("publish-shadow-update", lambda: client.publish(
            topic="$aws/things/thing1/shadow/update", qos=1,
            payload=b'{"state":{"reported":{"on":true}}}')),
        ("publish-mqtt5", lambda: client.publish(
            topic="a b/c+d/~x", qos=0, retain=True, contentType="text/plain",
            responseTopic="r/t", messageExpiry=60, userProperties=user_props,
            payload=b"hello")),
    ]
    for case, call in calls:
        current["case"] = case
        call()


def sign_directly(key, secret):
    """Variants botocore produces only when asked: a Date header instead of
    X-Amz-Date, and UNSIGNED-PAYLOAD."""
    creds = Credentials(key, secret)

    request = AWSRequest(method="POST", url="http://127.0.0.1:1/things/thing1/shadow",
                         data=b'{"state":{}}',
                         headers={"Host": "127.0.0.1:1", "Date": "placeholder"})
    SigV4Auth(creds, "iotdevicegateway", "eu-west-1").add_auth(request)
    emit("date-header", request.method, request.url, request.headers, request.body,
         request.context["timestamp"])

    request = AWSRequest(method="POST", url="https://127.0.0.1:1/things/thing1/shadow?name=cfg",
                         data=b'{"state":{}}', headers={"Host": "127.0.0.1:1"})
    request.context["payload_signing_enabled"] = False
    SigV4Auth(creds, "iotdata", "ap-southeast-2").add_auth(request)
    emit("unsigned-payload", request.method, request.url, request.headers, request.body,
         request.context["timestamp"])


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 1
    key, secret = sys.argv[1], sys.argv[2]
    capture_client_requests(key, secret)
    sign_directly(key, secret)
    return 0


if __name__ == "__main__":
    sys.exit(main())
