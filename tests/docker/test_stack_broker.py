"""The Docker stack's broker, run without Docker: docker/init-certs.sh (the
one-shot `certs` service) prepares a certificate directory, then
docker/config/mosquitto.conf, with its /mosquitto paths moved to a temporary
directory and its ports to free loopback ports, is loaded by a real Mosquitto
with the built plugin. The tests then use every listener the stack publishes
(plain MQTT, mutual TLS, the REST API) and docker/healthcheck.sh."""

import os
import re
import ssl
import stat
import subprocess
import tempfile
import unittest

import stack
from shadowtest.broker import Broker, free_ports, plugin_path
from shadowtest.cases import BrokerLogOnFailure
from shadowtest.certs import GEN_CERTS, client_tls
from shadowtest.mqtt import ConnectRefused, shadow_request
from shadowtest.rest import raw_request, rest_endpoint

DEVICES = ["dev1", "application"]


def init_certs(directory, ca_dir):
    env = dict(os.environ, SHADOW_CERTS_DIR=directory, SHADOW_CA_DIR=ca_dir,
               SHADOW_GEN_CERTS=GEN_CERTS, SHADOW_DEVICES=" ".join(DEVICES))
    return subprocess.run(["sh", stack.INIT_CERTS], env=env, capture_output=True, text=True,
                          timeout=120)


def read_all(directory):
    files = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), "rb") as f:
            files[name] = f.read()
    return files


def read_credentials(path):
    with open(path) as f:
        lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    return lines


class StackBroker(BrokerLogOnFailure, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="shadow-docker-")
        os.makedirs(os.path.join(cls.root, "data"))
        os.makedirs(os.path.join(cls.root, "log"))
        cls.certs = os.path.join(cls.root, "certs")
        cls.ca_dir = os.path.join(cls.root, "ca")
        cls.init = init_certs(cls.certs, cls.ca_dir)
        if cls.init.returncode != 0:
            raise AssertionError("init-certs.sh failed:\n%s%s" % (cls.init.stdout, cls.init.stderr))
        with open(stack.STACK_CONFIG) as f:
            cls.config_text = f.read()
        cls.container_ports = stack.listener_ports(cls.config_text)

        def config(host_ports):
            return stack.rewrite_stack_config(cls.config_text, cls.root,
                                              dict(zip(cls.container_ports, host_ports)), plugin_path())

        cls.broker = Broker.from_config(config, len(cls.container_ports), directory=cls.root)
        try:
            cls.broker.start()
        except BaseException:
            cls.broker.cleanup()
            raise
        cls.port = dict(zip(cls.container_ports, cls.broker.ports))

    @classmethod
    def tearDownClass(cls):
        cls.broker.report_if_exited()
        cls.broker.cleanup()  # removes cls.root

    def tls(self, device="dev1"):
        return client_tls(self.certs, device)

    def test_listens_where_compose_publishes(self):
        # compose.yml publishes 1883, 8883 and 8080; the configuration must
        # listen on exactly those (test_compose checks the other side).
        self.assertEqual(sorted(self.container_ports), [1883, 8080, 8883])

    def test_init_certs_made_every_file_and_a_private_key(self):
        for name in ["ca.crt", "server.crt", "server.key"] + \
                [d + ext for d in DEVICES for ext in (".crt", ".key")]:
            self.assertTrue(os.path.isfile(os.path.join(self.certs, name)), name)
        # The CA's key is only in the CA directory (the `ca` volume, which
        # no running container mounts).
        self.assertEqual(sorted(f for f in os.listdir(self.certs) if f.startswith("ca.")), ["ca.crt"])
        self.assertTrue(os.path.isfile(os.path.join(self.ca_dir, "ca.key")))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.ca_dir, "ca.key")).st_mode), 0o600)
        creds_path = os.path.join(self.certs, "rest-credentials")
        creds = read_credentials(creds_path)
        self.assertEqual(len(creds), 1)
        self.assertRegex(creds[0][0], r"^AKID[0-9A-F]{16}$")
        self.assertEqual(len(creds[0][1]), 40)
        # Only the broker's user may read the secret.
        self.assertEqual(stat.S_IMODE(os.stat(creds_path).st_mode), 0o600)

    def test_init_certs_again_keeps_everything(self):
        before = read_all(self.certs), read_all(self.ca_dir)
        again = init_certs(self.certs, self.ca_dir)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("kept REST API key", again.stdout)
        self.assertEqual((read_all(self.certs), read_all(self.ca_dir)), before)

    def test_init_certs_moves_the_ca_key_of_an_older_stack(self):
        # Before the `ca` volume existed, ca.key lay in the certs volume: the
        # CA is taken over (its certificates stay valid) and the key removed.
        root = tempfile.mkdtemp(prefix="shadow-docker-old-", dir=self.root)
        old, ca_dir = os.path.join(root, "certs"), os.path.join(root, "ca")
        r = subprocess.run(["sh", GEN_CERTS, old] + DEVICES, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        before = read_all(old)
        r = init_certs(old, ca_dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("moving the CA key", r.stdout)
        after = read_all(old)
        self.assertNotIn("ca.key", after)
        self.assertEqual(read_all(ca_dir)["ca.key"], before["ca.key"])
        for name in ["ca.crt", "server.crt", "dev1.crt", "dev1.key"]:
            self.assertEqual(after[name], before[name], name)

    def test_plain_mqtt_answers_shadow_requests(self):
        port = self.port[1883]
        outcome, doc = shadow_request(port, "stack-plain", "get")
        self.assertEqual((outcome, doc["code"]), ("rejected", 404))
        outcome, doc = shadow_request(port, "stack-plain", "update",
                                      b'{"state":{"reported":{"lights":"on"}}}')
        self.assertEqual((outcome, doc["version"]), ("accepted", 1))
        outcome, doc = shadow_request(port, "stack-plain", "get")
        self.assertEqual(outcome, "accepted")
        self.assertEqual(doc["state"], {"reported": {"lights": "on"}})

    def test_shadow_database_is_in_the_data_volume(self):
        shadow_request(self.port[1883], "stack-volume", "update",
                       b'{"state":{"desired":{"x":1}}}')
        db = os.path.join(self.root, "data", "shadow")
        self.assertTrue(os.path.isfile(os.path.join(db, "CURRENT")), os.listdir(self.root))

    def test_mutual_tls_with_a_device_certificate(self):
        port = self.port[8883]
        outcome, doc = shadow_request(port, "stack-tls", "update",
                                      b'{"state":{"reported":{"doors":"locked"}}}',
                                      tls=self.tls("dev1"))
        self.assertEqual(outcome, "accepted")
        outcome, doc = shadow_request(port, "stack-tls", "get", tls=self.tls("application"))
        self.assertEqual(doc["state"]["reported"], {"doors": "locked"})

    def test_mutual_tls_refuses_a_client_without_certificate(self):
        ca = os.path.join(self.certs, "ca.crt")
        self.assertTrue(os.path.isfile(ca))
        # The handshake fails, or (TLS 1.3) the broker closes the connection
        # before CONNACK.
        with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError,
                                ConnectRefused)) as caught:
            shadow_request(self.port[8883], "stack-tls", "get", tls={"ca": ca}, connect_timeout=3)
        e = caught.exception
        self.assertTrue(not isinstance(e, ConnectRefused) or "no CONNACK" in str(e), e)
        self.assertTrue(self.broker.alive())

    def test_rest_api_health_and_signed_requests(self):
        rest = rest_endpoint(self.port[8080])
        r = raw_request(rest, "GET", "/healthz", sign=False)
        self.assertEqual((r.status, r.body), (200, b'{"status":"ok"}'))
        shadow_request(self.port[1883], "stack-rest", "update",
                       b'{"state":{"reported":{"lights":"off"}}}')
        key, secret = read_credentials(os.path.join(self.certs, "rest-credentials"))[0]
        r = raw_request(rest, "GET", "/things/stack-rest/shadow", key=key, secret=secret)
        self.assertEqual(r.status, 200, r)
        self.assertIn(b'"reported":{"lights":"off"}', r.body)
        # Without a signature the stack's REST API refuses.
        self.assertEqual(raw_request(rest, "GET", "/things/stack-rest/shadow", sign=False).status, 403)

    def healthcheck(self, **overrides):
        env = dict(os.environ, SHADOW_HEALTH_MQTT_PORT=str(self.port[1883]),
                   SHADOW_HEALTH_ENDPOINT="http://127.0.0.1:%d" % self.port[8080],
                   SHADOW_HEALTH_CREDENTIALS=os.path.join(self.certs, "rest-credentials"))
        env.update(overrides)
        # The image has shadowctl on PATH; here it is the built one.
        env["PATH"] = os.path.dirname(os.environ["SHADOWCTL"]) + ":" + env["PATH"]
        return subprocess.run(["sh", stack.HEALTHCHECK], env=env, capture_output=True, text=True,
                              timeout=30)

    def test_healthcheck_script(self):
        r = self.healthcheck()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("healthy", r.stdout)

    def test_healthcheck_fails_without_the_mqtt_listener_or_the_plugin(self):
        unused = free_ports(1)[0]
        r = self.healthcheck(SHADOW_HEALTH_MQTT_PORT=str(unused))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unhealthy: nothing listens on the MQTT port %d" % unused, r.stdout)
        r = self.healthcheck(SHADOW_HEALTH_ENDPOINT="http://127.0.0.1:%d" % unused)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot be reached", r.stdout)
        # A key the broker does not know: 403, not healthy.
        wrong = os.path.join(self.root, "wrong-credentials")
        with open(wrong, "w") as f:
            f.write("AKIDWRONG0000000000 %s\n" % ("x" * 40))
        r = self.healthcheck(SHADOW_HEALTH_CREDENTIALS=wrong)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unexpected answer", r.stdout)

    def test_healthcheck_writes_nothing_to_the_broker_log(self):
        before = self.broker.log()
        for _ in range(3):
            r = self.healthcheck()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.broker.log()[len(before):], "")


class SampleConfig(BrokerLogOnFailure, unittest.TestCase):
    """docker/mosquitto.conf, the commented sample every doc links to, loads
    too (its plugin path, database path and port moved here)."""

    def test_sample_config_loads_and_answers(self):
        with open(os.path.join(stack.DOCKER_DIR, "mosquitto.conf")) as f:
            text = f.read()
        self.assertIn("plugin %s\n" % stack.IMAGE_PLUGIN_PATH, text)
        self.assertIn("plugin_opt_db_path /var/lib/mosquitto-shadow\n", text)
        self.assertEqual(len(re.findall(r"(?m)^listener 1883$", text)), 1)

        def config(ports):
            variant = text.replace("plugin %s\n" % stack.IMAGE_PLUGIN_PATH, "plugin %s\n" % plugin_path())
            variant = variant.replace("plugin_opt_db_path /var/lib/mosquitto-shadow\n",
                                      "plugin_opt_db_path %s/db\n" % self.broker.dir)
            variant = re.sub(r"(?m)^listener 1883$", "listener %d 127.0.0.1" % ports[0], variant)
            if os.geteuid() == 0:
                variant = "user root\n" + variant
            return variant

        self.broker = Broker.from_config(config)
        self.addCleanup(self.broker.cleanup)
        self.broker.start()
        outcome, doc = shadow_request(self.broker.port, "sample-conf", "get")
        self.assertEqual((outcome, doc["code"]), ("rejected", 404))


if __name__ == "__main__":
    unittest.main()
