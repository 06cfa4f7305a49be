"""Helpers of the rules tests: a broker with the REST API and the rules
engine on, the AWS CLI and boto3's "iot" client pointed at it, a local
HTTP server that records what http actions send, and rule payloads.

The broker sets plugin_opt_acl_fallback allow: Last Will messages reach the
rules only through the plugin's ACL check (docs/rules.md)."""

import json
import os
import queue
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


from shadowtest.rest import ACCESS_KEY, REGION, SECRET_KEY, RestBroker, RestTestCase, make_iot_client

AWS_CLI = "/usr/bin/aws"
CLI_TIMEOUT_S = 60
WAIT_S = 10.0
ROLE = "arn:aws:iam::123456789012:role/unused"


class RulesBroker(RestBroker):
    """A RestBroker whose rules engine sees Last Wills (acl_fallback allow)
    and may POST to `http_allow` (host:port list) over plain http."""

    def __init__(self, options=None, http_allow=None, **kwargs):
        opts = {"acl_fallback": "allow"}
        if http_allow:
            opts["rules_http_allow"] = http_allow
        opts.update(options or {})
        super().__init__(options=opts, **kwargs)


def aws(broker, *args, home=None):
    """Runs `aws ARGS --endpoint-url ...` with the test credentials in the
    environment only; returns (exit status, stdout, stderr)."""
    if not os.access(AWS_CLI, os.X_OK):
        raise AssertionError("%s is missing: install Debian's awscli (scripts/install-deps.sh)" % AWS_CLI)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home or tempfile.gettempdir(),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    p = subprocess.run([AWS_CLI, *args, "--endpoint-url", broker.endpoint], env=env,
                       capture_output=True, timeout=CLI_TIMEOUT_S)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def republish(topic, qos=0, headers=None):
    action = {"topic": topic, "qos": qos, "roleArn": ROLE}
    if headers is not None:
        action["headers"] = headers
    return {"republish": action}


def http(url, headers=None, confirmation_url=None):
    action = {"url": url}
    if headers:
        action["headers"] = [{"key": k, "value": v} for k, v in headers.items()]
    if confirmation_url:
        action["confirmationUrl"] = confirmation_url
    return {"http": action}


def payload(sql, *actions, error_action=None, disabled=None, description=None):
    """A TopicRulePayload (dict)."""
    p = {"sql": sql, "awsIotSqlVersion": "2016-03-23", "actions": list(actions)}
    if error_action is not None:
        p["errorAction"] = error_action
    if disabled is not None:
        p["ruleDisabled"] = disabled
    if description is not None:
        p["description"] = description
    return p


class HookServer:
    """An HTTP server on 127.0.0.1 (a free port) that records every POST
    (path, headers, body) and answers with `status` (a fixed code, or a
    list consumed one per request, then 200). With `hold`, each request
    waits until release() before it is answered."""

    def __init__(self, status=200, hold=False, tls=None):
        self.requests = queue.Queue()
        self.statuses = list(status) if isinstance(status, (list, tuple)) else None
        self.status = status if self.statuses is None else 200
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        self.arrived = threading.Semaphore(0)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                server.requests.put({"path": self.path, "headers": dict(self.headers.items()),
                                     "body": body})
                server.arrived.release()
                server.gate.wait(WAIT_S * 3)
                code = server.statuses.pop(0) if server.statuses else server.status
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            # HTTPS with the (cert, key) pair `tls`; handshakes happen in the
            # request threads, so a refused one does not stop the server.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True,
                                                    do_handshake_on_connect=False)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host_port(self):
        return "127.0.0.1:%d" % self.port

    def url(self, path="/hook"):
        return "%s://%s%s" % (self.scheme, self.host_port, path)

    def take(self, timeout=WAIT_S):
        """The next recorded request (waits up to `timeout`)."""
        try:
            return self.requests.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the hook server received no request within %.0f s" % timeout)

    def release(self):
        self.gate.set()

    def close(self):
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(WAIT_S)


class RulesTestCase(RestTestCase):
    """One rules-enabled broker per test class (`broker_options`,
    `http_allow`), its iot-data client (`iot`) and iot client (`control`)."""
    http_allow = None

    @classmethod
    def setUpClass(cls):
        cls.broker = RulesBroker(options=cls.broker_options, http_allow=cls.http_allow,
                                 extra=cls.broker_extra)
        try:
            cls.broker.start()
        except BaseException:
            cls.broker.cleanup()
            raise
        from shadowtest.rest import make_client
        cls.iot = make_client(cls.broker)
        cls.control = make_iot_client(cls.broker)

    def create_rule(self, name, rule_payload):
        """CreateTopicRule through boto3; deleted after the test."""
        self.control.create_topic_rule(ruleName=name, topicRulePayload=rule_payload)
        self.addCleanup(self.delete_quietly, name)

    def delete_quietly(self, name):
        try:
            self.control.delete_topic_rule(ruleName=name)
        except self.control.exceptions.UnauthorizedException:
            pass

    def metric(self, name, rule):
        """The value of a per-rule counter on /metrics, or 0."""
        from shadowtest.rest import raw_request
        r = raw_request(self.broker, "GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        prefix = '%s{rule="%s"} ' % (name, rule)
        for line in r.body.decode().splitlines():
            if line.startswith(prefix):
                return int(line[len(prefix):])
        return 0


def dumps(doc):
    return json.dumps(doc, separators=(",", ":"))
