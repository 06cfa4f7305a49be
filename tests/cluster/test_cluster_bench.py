"""scripts/cluster-bench.py, short: it starts a cluster per broker count,
measures, prints a row per run with figures from the load generator and
from /proc, and leaves nothing running."""

import os
import re
import subprocess
import unittest

from cluster_case import SCRIPT

BENCH = os.path.join(os.path.dirname(SCRIPT), "cluster-bench.py")


class ClusterBench(unittest.TestCase):
    def test_prints_a_row_per_run_with_cpu_per_process_kind(self):
        p = subprocess.run([BENCH, "--brokers", "1,2", "--things", "20", "--duration", "1", "--connections", "4",
                            "--inflight", "2", "--plugin", os.environ["SHADOW_PLUGIN"],
                            "--loadgen", os.environ["SHADOW_LOADGEN"]],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in p.stdout.splitlines()
                if line.startswith("| ") and not line.startswith("| Setup") and not line.startswith("| ---")]
        self.assertEqual([r[0] for r in rows], ["RocksDB, 1 broker", "RocksDB durable, 1 broker",
                                                 "Redis Cluster, 1 broker", "Redis Cluster, 2 brokers via HAProxy"],
                         p.stdout)
        for r in rows:
            self.assertGreater(float(r[2].replace(",", "")), 0, r)  # updates/s
            self.assertGreater(float(r[5].split()[0]), 0, r)          # broker CPU per update
        # The single-broker ratios, computed from the rows above.
        ratios = re.search(r"20 things: RocksDB (\d+) %, RocksDB durable (\d+) %", p.stdout)
        self.assertIsNotNone(ratios, p.stdout)
        def updates(r):
            return float(r[2].replace(",", ""))
        self.assertAlmostEqual(int(ratios.group(1)), 100 * updates(rows[2]) / updates(rows[0]), delta=1)
        self.assertAlmostEqual(int(ratios.group(2)), 100 * updates(rows[2]) / updates(rows[1]), delta=1)
        one_broker, two_brokers = rows[2], rows[3]
        for r in (one_broker, two_brokers):
            # Redis masters and replicas did work; per process = sum / count.
            total, per = re.fullmatch(r"(\d+) \((\d+)\)", r[6]).groups()
            self.assertGreater(int(total), 0, r)
            self.assertLessEqual(int(per), int(total), r)
        self.assertEqual(one_broker[8], "-")          # one broker: HAProxy bypassed
        self.assertGreater(float(two_brokers[8]), 0)  # two brokers: through HAProxy
        # Every cluster it started is stopped again.
        left = subprocess.run(["pgrep", "-f", "shadow-cluster-bench-"], capture_output=True, text=True)
        self.assertEqual(left.stdout, "", "processes left running")


if __name__ == "__main__":
    unittest.main()
