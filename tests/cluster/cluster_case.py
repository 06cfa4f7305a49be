"""A cluster started by scripts/cluster.sh for one test (Redis Cluster 3 + 3,
two brokers, HAProxy) on a free range of loopback ports, stopped and deleted
afterwards; shared by the tests of this folder that drive the script."""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import unittest

SCRIPT = os.environ.get("SHADOW_CLUSTER_SCRIPT") or os.path.join(
    os.path.dirname(__file__), "..", "..", "scripts", "cluster.sh")
PLUGIN = os.environ["SHADOW_PLUGIN"]
BROKERS = 2


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def ports_of(base):
    """Every port cluster.sh uses with --base-port `base` and 2 brokers."""
    ports = [base, base + 1]
    ports += [base + 10 + n for n in range(1, BROKERS + 1)] + [base + 20 + n for n in range(1, BROKERS + 1)]
    ports += [base + 100 + i for i in range(6)] + [base + 10100 + i for i in range(6)]
    return ports


class ScriptClusterCase(unittest.TestCase):
    """setUp starts the cluster (`self.dir`, `self.base`); run_script runs
    another cluster.sh command on it.

    Port ranges stay below Linux's ephemeral ports (32768 and up, where the
    clients of other tests get theirs), Redis cluster bus ports (+10000)
    included. A start that fails anyway (a port taken between the check and
    the bind) is retried on another range."""
    temp_prefix = "shadow-cluster-"
    port_range = (12000, 17000)
    start_attempts = 3

    def run_script(self, *args, timeout=180):
        p = subprocess.run([SCRIPT, *args, "--dir", self.dir], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, "cluster.sh %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def free_base(self):
        for _ in range(50):
            base = random.randrange(self.port_range[0], self.port_range[1], 200)
            if all(port_free(p) for p in ports_of(base)):
                return base
        self.fail("no free port range for cluster.sh between %d and %d" % self.port_range)

    def setUp(self):
        self.dir = os.path.join(tempfile.mkdtemp(prefix=self.temp_prefix), "cluster")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.dir), True)
        self.addCleanup(lambda: subprocess.run([SCRIPT, "stop", "--dir", self.dir], capture_output=True, timeout=120))
        failures = []
        for _ in range(self.start_attempts):
            self.base = self.free_base()
            p = subprocess.run([SCRIPT, "start", "--brokers", str(BROKERS), "--http-auth", "none", "--base-port",
                                str(self.base), "--plugin", PLUGIN, "--dir", self.dir],
                               capture_output=True, text=True, timeout=180)
            if p.returncode == 0:
                return
            failures.append("base port %d:\n%s%s%s" % (self.base, p.stdout, p.stderr, broker_log_tails(self.dir)))
            subprocess.run([SCRIPT, "stop", "--dir", self.dir], capture_output=True, timeout=120)
        self.fail("cluster.sh start failed %d times:\n%s" % (self.start_attempts, "\n".join(failures)))


def broker_log_tails(cluster_dir, lines=15):
    """The last lines of each broker's log in a cluster.sh directory."""
    out = ""
    for n in range(1, BROKERS + 1):
        path = os.path.join(cluster_dir, "broker%d" % n, "mosquitto.log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                out += "--- broker %d log:\n%s" % (n, "".join(f.readlines()[-lines:]))
    return out
