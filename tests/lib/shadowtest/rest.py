"""The REST API side: a broker with the plugin's HTTP listener on, boto3
iot-data clients signed with the test credentials, and raw HTTP requests
(signed by botocore's signer or not) for what boto3 cannot send."""

import http.client
import json
import os
import ssl
import types

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError  # noqa: F401  (for the tests)

from shadowtest.broker import Broker
from shadowtest.cases import ShadowTestCase

ACCESS_KEY = "AKIDRESTTEST0001"
SECRET_KEY = "rEsTtEsT/K7MDENG+bPxRfiCYsecret0001"
# A second pair: the credentials file may hold several keys.
ACCESS_KEY_2 = "AKIDRESTTEST0002"
SECRET_KEY_2 = "second/secret+key/0002"
REGION = "us-east-1"
HTTP_TIMEOUT_S = 30.0


class RestBroker(Broker):
    """A Broker whose plugin also serves the REST API on its own free port
    (`http_port`), with a credentials file of the two test keys.
    `auth` is "sigv4" or "none" (None: the plugin's default); `tls` is an
    optional (cert, key) pair."""

    port_count = 2

    def __init__(self, options=None, extra=None, auth=None, tls=None, **kwargs):
        super().__init__(options=options, extra=extra, **kwargs)
        self.tls = tls
        self.credentials_path = os.path.join(self.dir, "credentials")
        with open(self.credentials_path, "w") as f:
            f.write("# access key id, secret access key\n")
            f.write("%s %s\n" % (ACCESS_KEY, SECRET_KEY))
            f.write("%s\t%s\n" % (ACCESS_KEY_2, SECRET_KEY_2))
        os.chmod(self.credentials_path, 0o600)
        self.options["http_credentials_file"] = self.credentials_path
        if auth is not None:
            self.options["http_auth"] = auth
        if tls is not None:
            self.options["http_tls_cert"], self.options["http_tls_key"] = tls

    def assign_ports(self, ports):
        super().assign_ports(ports)
        self.options["http_listen"] = "127.0.0.1:%d" % self.ports[1]

    @property
    def http_port(self):
        """The REST port; in cluster mode each use names the next broker."""
        return self.listener_port(1)

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.http_port)


def rest_endpoint(http_port, tls=None):
    """The REST API of a broker the library did not configure (the Docker
    stack's, say) on 127.0.0.1:http_port, for make_client() and
    raw_request(), which otherwise take a RestBroker."""
    scheme = "https" if tls else "http"
    return types.SimpleNamespace(http_port=http_port, tls=tls,
                                 endpoint="%s://127.0.0.1:%d" % (scheme, http_port))


def make_client(broker, key=ACCESS_KEY, secret=SECRET_KEY, region=REGION, validate=True, verify=None):
    """An iot-data client for `broker` with retries off (error paths must not
    be retried, and a retried 5xx would hide the first answer). Each call
    builds its own session, so clients can be made and used per thread.
    verify: the CA file of a TLS broker (default: its certificate)."""
    if verify is None and broker.tls:
        verify = broker.tls[0]
    session = boto3.session.Session()
    return session.client(
        "iot-data", endpoint_url=broker.endpoint, region_name=region,
        aws_access_key_id=key, aws_secret_access_key=secret, verify=verify,
        config=Config(retries={"max_attempts": 0}, parameter_validation=validate,
                      connect_timeout=5, read_timeout=HTTP_TIMEOUT_S))


def make_iot_client(broker, key=ACCESS_KEY, secret=SECRET_KEY):
    """An AWS IoT control-plane client (aws iot ...: topic rules,
    search-index) for `broker`, retries off. boto3 signs these calls as
    "execute-api"."""
    session = boto3.session.Session()
    return session.client(
        "iot", endpoint_url=broker.endpoint, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, connect_timeout=5, read_timeout=HTTP_TIMEOUT_S))


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def error_type(self):
        """x-amzn-ErrorType without the ':...' suffix AWS appends."""
        value = self.header("x-amzn-ErrorType")
        return None if value is None else value.split(":", 1)[0]

    def __repr__(self):
        return "RawResponse(%d, %r, %r)" % (self.status, self.headers, self.body[:300])


def sign_headers(broker, method, path, body=b"", key=ACCESS_KEY, secret=SECRET_KEY,
                 region=REGION, service="iotdata", headers=None):
    """Headers of a SigV4-signed request as botocore's signer makes them.
    `path` is sent as given (percent-encoding included)."""
    request = AWSRequest(method=method, url=broker.endpoint + path, data=body,
                         headers=dict(headers or {}))
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


def raw_request(broker, method, path, body=b"", headers=None, sign=True, **sign_args):
    """One request on a fresh connection; `path` goes on the request line
    unchanged. Signed unless `sign` is False. Returns a RawResponse."""
    # One port for signing and sending (a cluster-mode broker names the next
    # broker at each use of http_port).
    broker = rest_endpoint(broker.http_port, broker.tls)
    hdrs = dict(headers or {})
    if sign:
        hdrs = sign_headers(broker, method, path, body, headers=hdrs, **sign_args)
    if broker.tls:
        context = ssl.create_default_context(cafile=broker.tls[0])
        conn = http.client.HTTPSConnection("127.0.0.1", broker.http_port, timeout=HTTP_TIMEOUT_S,
                                           context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=HTTP_TIMEOUT_S)
    try:
        conn.request(method, path, body=body if body else None, headers=hdrs)
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def payload_json(response):
    """The JSON document of a get/update/delete response (a StreamingBody)."""
    return json.loads(response["payload"].read().decode("utf-8"))


class RestTestCase(ShadowTestCase):
    """One REST-enabled broker per test class and one boto3 client for it
    (`iot`). Subclasses set broker_options, broker_extra, broker_auth and
    may override make_tls() to return a (cert, key) pair."""
    broker_options = {}
    broker_extra = []
    broker_auth = None

    @classmethod
    def make_tls(cls):
        return None

    @classmethod
    def setUpClass(cls):
        cls.broker = RestBroker(options=cls.broker_options, extra=cls.broker_extra,
                                auth=cls.broker_auth, tls=cls.make_tls())
        try:
            cls.broker.start()
        except BaseException:
            cls.broker.cleanup()
            raise
        cls.iot = make_client(cls.broker)

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()

    # --- REST helpers ---------------------------------------------------------
    def rest_update(self, thing, doc, shadow=None, client=None):
        """UpdateThingShadow; returns the parsed accepted body."""
        args = {"thingName": thing, "payload": doc if isinstance(doc, bytes) else json.dumps(doc).encode()}
        if shadow is not None:
            args["shadowName"] = shadow
        return payload_json((client or self.iot).update_thing_shadow(**args))

    def rest_get(self, thing, shadow=None, client=None):
        args = {"thingName": thing}
        if shadow is not None:
            args["shadowName"] = shadow
        return payload_json((client or self.iot).get_thing_shadow(**args))

    def rest_delete(self, thing, shadow=None, client=None):
        args = {"thingName": thing}
        if shadow is not None:
            args["shadowName"] = shadow
        return payload_json((client or self.iot).delete_thing_shadow(**args))

    def assertClientError(self, ctx, code, status, message=None):
        """`ctx` is the assertRaises context of a botocore ClientError."""
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        if message is not None:
            self.assertEqual(err["Error"]["Message"], message, err)
        return err
