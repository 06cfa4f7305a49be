"""Repeated failures under load with two brokers (load_case.py), the
counts the scale-out design promises to survive with 0 acknowledged
updates lost and no version used twice:

- 20 kill -9 cycles of a broker (the two in turn, each restarted before the
  other dies) with writers that move to the surviving broker;
- 10 Redis failovers: `CLUSTER FAILOVER FORCE` on a replica and kill -9 of
  a master, in turn, over the three masters. During one, requests on its
  slots are answered 500 or 503 (never a wrong accept).

Each cycle prints a progress line with the outcomes so far."""

import sys
import time
import unittest

from load_case import WRITERS_PER_BROKER, ClusterUnderLoad

BROKER_KILL_CYCLES = 20
REDIS_FAILOVERS = 10


class FailureCycles(ClusterUnderLoad):
    def test_twenty_broker_kills_under_load(self):
        # Half the writers start on each broker; each moves to the other when
        # its broker dies, and back when that one dies in the next cycle.
        ports = [[self.mqtt_port(1), self.mqtt_port(2)], [self.mqtt_port(2), self.mqtt_port(1)]] * WRITERS_PER_BROKER
        threads = self.start_writers(ports, answer_timeout=2)
        try:
            self.wait_accepted(100)
            started = time.monotonic()
            for cycle in range(BROKER_KILL_CYCLES):
                victim = 1 + cycle % 2
                self.run_script("stop-broker", str(victim))
                self.wait_accepted(50, timeout=60)
                self.run_script("start-broker", str(victim))
                sys.stderr.write("[%5.1f s] broker kill %d/%d: broker %d killed and back, %r\n"
                                 % (time.monotonic() - started, cycle + 1, BROKER_KILL_CYCLES, victim,
                                    self.recorder.outcomes))
            self.wait_accepted(50, timeout=60)
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(1))
        self.check_nothing_acked_was_lost(self.rest_port(2))
        self.check_rejections_are_unavailable()

    def test_ten_redis_failovers_under_load(self):
        ports = [[self.mqtt_port(1)], [self.mqtt_port(2)]] * WRITERS_PER_BROKER
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(100)
            started = time.monotonic()
            for cycle in range(REDIS_FAILOVERS):
                masters = self.masters()
                self.assertEqual(len(masters), 3, [self.role(p) for p in self.redis_ports()])
                master = masters[cycle % 3]
                replica = self.replica_of(master)
                if cycle % 2 == 0:
                    how = "CLUSTER FAILOVER FORCE on replica %d of master %d" % (replica, master)
                    self.assertIn("OK", self.redis_cli(replica, "CLUSTER", "FAILOVER", "FORCE"))
                    self.wait_until("%d becomes master" % replica, lambda: self.role(replica)[0] == "master")
                    self.wait_until("%d follows %d" % (master, replica), lambda: self.role(master) == ("slave", replica))
                else:
                    how = "kill -9 of master %d (replica %d)" % (master, replica)
                    self.kill_redis_node(master)
                    self.wait_until("%d becomes master" % replica, lambda: self.role(replica)[0] == "master")
                    self.start_redis_node(master)
                    self.wait_until("%d rejoins as replica of %d" % (master, replica),
                                    lambda: self.role(master) == ("slave", replica))
                self.wait_accepted(100, timeout=60)
                sys.stderr.write("[%5.1f s] failover %d/%d: %s, %r\n" % (
                    time.monotonic() - started, cycle + 1, REDIS_FAILOVERS, how, self.recorder.outcomes))
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(1))
        self.check_rejections_are_unavailable()


if __name__ == "__main__":
    unittest.main()
