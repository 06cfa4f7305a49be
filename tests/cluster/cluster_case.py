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
    another cluster.sh command on it."""
    temp_prefix = "shadow-cluster-"
    port_range = (30000, 40000)

    def run_script(self, *args, timeout=180):
        p = subprocess.run([SCRIPT, *args, "--dir", self.dir], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, "cluster.sh %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def setUp(self):
        self.dir = os.path.join(tempfile.mkdtemp(prefix=self.temp_prefix), "cluster")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.dir), True)
        for _ in range(50):
            self.base = random.randrange(self.port_range[0], self.port_range[1], 200)
            if all(port_free(p) for p in ports_of(self.base)):
                break
        else:
            self.fail("no free port range for cluster.sh")
        self.addCleanup(lambda: subprocess.run([SCRIPT, "stop", "--dir", self.dir], capture_output=True, timeout=120))
        self.run_script("start", "--brokers", str(BROKERS), "--http-auth", "none", "--base-port", str(self.base),
                        "--plugin", PLUGIN)
