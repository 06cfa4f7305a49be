"""Shared fixtures for the shadowctl tests: a real mosquitto with the plugin
and its REST listener on, and a helper that runs the built shadowctl binary.

Uses tests/integration/broker.py unchanged. The binary comes from the
SHADOWCTL environment variable and the plugin from SHADOW_PLUGIN (both set
by tests/shadowctl/CMakeLists.txt)."""

import json
import os
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from broker import Broker, BrokerError, free_port  # noqa: E402
from shadow_case import report_unexpected_exit  # noqa: E402

ACCESS_KEY = "AKIDSHADOWCTL0001"
SECRET_KEY = "ctl/K7MDENG+bPxRfiCYsecret0001"
OTHER_KEY = "AKIDSHADOWCTL0002"
OTHER_SECRET = "another+secret/0002"
RUN_TIMEOUT_S = 60
HTTP_READY_TIMEOUT_S = 10.0

# Exit statuses promised by docs/shadowctl.md.
EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3
EXIT_REQUEST, EXIT_SERVER, EXIT_CONNECTION, EXIT_TIMEOUT = 4, 5, 6, 7


def shadowctl_path():
    path = os.environ.get("SHADOWCTL", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("SHADOWCTL must name the built shadowctl binary (got %r)" % path)
    return path


def clean_env(**extra):
    """The environment shadowctl runs in: no inherited credentials, endpoint
    or color settings, so each test states what it uses."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("SHADOWCTL_ENDPOINT", "NO_COLOR")}
    env.update(extra)
    return env


class CtlBroker(Broker):
    """A Broker whose plugin also serves the REST API on a free port.
    `auth` is "none" or "sigv4" (with a credentials file of two keys)."""

    def __init__(self, auth="none", options=None):
        super().__init__(options=options)
        self.http_port = None
        self.credentials_path = os.path.join(self.dir, "credentials")
        with open(self.credentials_path, "w") as f:
            f.write("# shadowctl test keys\n%s %s\n%s %s\n"
                    % (ACCESS_KEY, SECRET_KEY, OTHER_KEY, OTHER_SECRET))
        os.chmod(self.credentials_path, 0o600)
        self.options["http_auth"] = auth
        self.scheme = "https" if "http_tls_cert" in self.options else "http"
        if auth == "sigv4":
            self.options["http_credentials_file"] = self.credentials_path

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.http_port)

    def start(self):
        # If the HTTP port was taken meanwhile the plugin fails to start;
        # try another one.
        last = None
        for _attempt in range(3):
            self.http_port = free_port()
            self.options["http_listen"] = "127.0.0.1:%d" % self.http_port
            try:
                super().start()
            except BrokerError as e:
                last = e
                if "in use" in str(e).lower() or "bind" in str(e).lower():
                    continue
                raise
            self._wait_http_ready()
            return self
        raise last

    def _wait_http_ready(self):
        deadline = time.monotonic() + HTTP_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.alive():
                raise BrokerError("mosquitto exited; log:\n" + self.log())
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise BrokerError("REST listener not ready on %d; log:\n%s" % (self.http_port, self.log()))


class CtlTestCase(unittest.TestCase):
    """One broker per test class; `ctl()` runs shadowctl against it."""
    auth = "none"

    @classmethod
    def broker_options(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        cls.broker = CtlBroker(cls.auth, cls.broker_options()).start()

    @classmethod
    def tearDownClass(cls):
        report_unexpected_exit(cls.broker)
        cls.broker.cleanup()

    def base_args(self):
        args = ["--endpoint", self.broker.endpoint]
        if self.auth == "none":
            args.append("--no-auth")
        return args

    def ctl(self, *args, stdin=None, env=None, expect=None, endpoint=True):
        """Runs shadowctl with `args` (after --endpoint/--no-auth unless
        endpoint is False). Returns the CompletedProcess (text mode); with
        `expect`, asserts the exit status first."""
        cmd = [shadowctl_path()] + (self.base_args() if endpoint else []) + list(args)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                              env=env if env is not None else clean_env(),
                              timeout=RUN_TIMEOUT_S)
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             "shadowctl %s\nstdout: %s\nstderr: %s"
                             % (" ".join(args), proc.stdout, proc.stderr))
        return proc

    def ctl_json(self, *args, **kw):
        """Runs shadowctl --json and parses its stdout (one JSON document)."""
        proc = self.ctl("--json", *args, expect=kw.pop("expect", EXIT_OK), **kw)
        return json.loads(proc.stdout)

    def thing(self, suffix=""):
        """A thing name unique to the running test."""
        return (self._testMethodName + suffix).replace("_", "-")[:100]
