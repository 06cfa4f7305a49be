"""Base test case of the shadowctl tests: a real mosquitto with the plugin
and its REST listener on (shadowtest.rest.RestBroker), and a helper that
runs the built shadowctl binary.

The binary comes from the SHADOWCTL environment variable and the plugin
from SHADOW_PLUGIN (both set by tests/CMakeLists.txt)."""

import json
import os
import subprocess

from shadowtest.cases import BrokerTestCase
from shadowtest.rest import RestBroker

RUN_TIMEOUT_S = 60

# Exit statuses promised by docs/shadowctl.md.
EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3
EXIT_REQUEST, EXIT_SERVER, EXIT_CONNECTION, EXIT_TIMEOUT = 4, 5, 6, 7
EXIT_INCOMPLETE = 8


def shadowctl_path():
    path = os.environ.get("SHADOWCTL", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("SHADOWCTL must name the built shadowctl binary (got %r)" % path)
    return path


def state_of(doc):
    """desired and reported of a GetThingShadow document (delta is derived)."""
    return {k: v for k, v in doc["state"].items() if k in ("desired", "reported")}


def clean_env(**extra):
    """The environment shadowctl runs in: no inherited credentials, endpoint
    or color settings, so each test states what it uses."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("SHADOWCTL_ENDPOINT", "NO_COLOR")}
    env.update(extra)
    return env


class CtlTestCase(BrokerTestCase):
    """One broker per test class; `ctl()` runs shadowctl against it. `auth`
    is "none" or "sigv4" (the broker's credentials file holds two keys);
    make_tls() may return a (cert, key) pair for an HTTPS listener;
    `broker_options` are extra plugin options."""
    auth = "none"
    broker_options = {}

    @classmethod
    def make_tls(cls):
        return None

    @classmethod
    def make_broker(cls):
        return RestBroker(options=cls.broker_options, auth=cls.auth, tls=cls.make_tls())

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
