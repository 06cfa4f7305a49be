"""Repeated failures under load with two brokers (load_case.py), the
counts the scale-out design promises to survive with 0 acknowledged
updates lost and no version used twice:

- 20 kill -9 cycles of a broker (the two in turn, each restarted before the
  other dies) with writers that move to the surviving broker;
- 10 Redis failovers: `CLUSTER FAILOVER FORCE` on a replica and kill -9 of
  a master, in turn, over the three masters. During one, requests on its
  slots are answered 500 or 503 (never a wrong accept);
- 3 reshards (`redis-cli --cluster reshard`, 2,000 slots from one master to
  the next) while the clients write: requests follow MOVED/ASK and the event
  subscriptions follow their slots, so answers keep arriving.

Each cycle prints a progress line with the outcomes so far."""

import subprocess
import sys
import time
import unittest

from load_case import WRITERS_PER_BROKER, ClusterUnderLoad

BROKER_KILL_CYCLES = 20
REDIS_FAILOVERS = 10
RESHARDS = 3
RESHARD_SLOTS = 2000


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


    def test_resharding_under_load(self):
        ports = [[self.mqtt_port(1)], [self.mqtt_port(2)]] * WRITERS_PER_BROKER
        slots = {thing: self.slot_of(thing) for thing in self.things}
        moved = set()
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(100)
            started = time.monotonic()
            for step in range(RESHARDS):
                masters = self.masters()
                self.assertEqual(len(masters), 3)
                source, target = masters[step % 3], masters[(step + 1) % 3]
                before = self.slot_owners()
                p = subprocess.run(["redis-cli", "--cluster", "reshard", "127.0.0.1:%d" % source,
                                    "--cluster-from", self.node_id(source), "--cluster-to", self.node_id(target),
                                    "--cluster-slots", str(RESHARD_SLOTS), "--cluster-yes"],
                                   capture_output=True, text=True, timeout=300)
                self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr)
                after = self.slot_owners()
                moved |= {t for t, slot in slots.items() if before.get(slot) != after.get(slot)}
                self.wait_accepted(100, timeout=60)
                sys.stderr.write("[%5.1f s] reshard %d/%d: %d slots from %d to %d, %d of %d shadows moved so far, %r\n"
                                 % (time.monotonic() - started, step + 1, RESHARDS, RESHARD_SLOTS, source, target,
                                    len(moved), len(slots), self.recorder.outcomes))
        finally:
            self.stop_writers(threads)
        self.assertGreater(len(moved), 0, "no shadow's slot moved: the test did not test anything")
        self.check_nothing_acked_was_lost(self.rest_port(1))
        self.check_nothing_acked_was_lost(self.rest_port(2))
        self.check_rejections_are_unavailable()


if __name__ == "__main__":
    unittest.main()
