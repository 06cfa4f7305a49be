"""One failure under load with two brokers (load_case.py): nothing a client
saw acknowledged is lost, and no version is used twice.

- A Redis master killed with kill -9 while clients on both brokers update
  shadows spread over every master: its replica takes over, requests on its
  slots get 500 meanwhile (never a wrong accept), and afterwards every
  shadow holds at least the highest version acknowledged for it.
- A broker killed with kill -9 under load: its clients move to the other
  broker, which serves the same shadows with their versions; a watcher on
  that broker saw every shadow's versions in order."""

import time
import unittest

from load_case import WRITERS_PER_BROKER, ClusterUnderLoad
from shadowtest.mqtt import Client, prefix


class FailoverTest(ClusterUnderLoad):
    def test_redis_master_killed_under_load(self):
        ports = [[self.mqtt_port(1)], [self.mqtt_port(2)]] * WRITERS_PER_BROKER
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(200)
            masters = [p for p in self.redis_ports() if self.redis_cli(p, "ROLE").startswith("master")]
            self.assertEqual(len(masters), 3)
            victim = masters[0]
            self.kill_redis_node(victim)
            # The replica is promoted within seconds; writes to its slots resume
            # once the killed node is back as its replica (min-replicas-to-write 1).
            deadline = time.monotonic() + 30
            while not any(self.redis_cli(p, "ROLE").startswith("master") for p in self.redis_ports()
                          if p not in masters):
                self.assertLess(time.monotonic(), deadline, "no replica was promoted within 30 s")
                time.sleep(0.5)
            self.start_redis_node(victim)
            self.wait_accepted(300, timeout=60)
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(2))
        self.assertGreater(self.recorder.outcomes.get("accepted", 0), 500, self.recorder.outcomes)

    def test_broker_killed_under_load(self):
        # Writers start on broker 1 and move to broker 2 when it dies.
        ports = [[self.mqtt_port(1), self.mqtt_port(2)]] * (2 * WRITERS_PER_BROKER)
        watcher = Client(self.mqtt_port(2), "watcher")
        self.addCleanup(watcher.close)
        watcher.subscribe(*[prefix(t) + "/update/accepted" for t in self.things])
        threads = self.start_writers(ports)
        try:
            self.wait_accepted(200)
            self.run_script("stop-broker", "1")
            self.wait_accepted(300, timeout=60)
        finally:
            self.stop_writers(threads)
        self.check_nothing_acked_was_lost(self.rest_port(2))
        # The watcher on the surviving broker saw every shadow's versions in order.
        seen = {}
        for m in watcher.pending():
            thing = m.topic.split("/")[2]
            seen.setdefault(thing, []).append(m.json()["version"])
        for thing, versions in seen.items():
            self.assertEqual(versions, sorted(versions), thing)
            self.assertEqual(len(versions), len(set(versions)), thing)


if __name__ == "__main__":
    unittest.main()
