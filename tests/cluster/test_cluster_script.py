"""scripts/cluster.sh as docs/scale-out.md shows it: a Redis Cluster, two
brokers and HAProxy on one machine; an update through broker 1 reaches a
subscriber on broker 2 and the REST API of broker 2; a broker killed and
started again; everything stopped. The script's own cluster, on free ports."""

import json
import os
import unittest
import urllib.request

from cluster_case import BROKERS, ScriptClusterCase
from shadowtest.mqtt import Client, new_token, prefix


class ClusterScriptTest(ScriptClusterCase):
    temp_prefix = "shadow-cluster-script-"

    def rest_get(self, port, thing):
        with urllib.request.urlopen("http://127.0.0.1:%d/things/%s/shadow" % (port, thing), timeout=10) as r:
            return json.loads(r.read())

    def test_documented_session(self):
        b1, b2 = self.base + 11, self.base + 12
        thing = "script-" + new_token("lamp")
        p = prefix(thing)
        device = Client(b2, "device")
        self.addCleanup(device.close)
        device.subscribe(p + "/update/delta")
        app = Client(b1, "app")
        self.addCleanup(app.close)
        app.subscribe(p + "/update/accepted", p + "/update/rejected")
        outcome, doc = app.request(p, "update", {"state": {"desired": {"on": True}}}, token=new_token())
        self.assertEqual(outcome, "accepted", doc)
        delta = device.take_one(p + "/update/delta").json()
        self.assertEqual((delta["state"], delta["version"]), ({"on": True}, 1))
        self.assertEqual(self.rest_get(self.base + 22, thing)["version"], 1)
        # Through HAProxy, MQTT and REST.
        lb = Client(self.base, "via-lb")
        self.addCleanup(lb.close)
        lb.subscribe(p + "/get/accepted", p + "/get/rejected")
        self.assertEqual(lb.request(p, "get", {}, token=new_token())[1]["version"], 1)
        self.assertEqual(self.rest_get(self.base + 1, thing)["version"], 1)

        status = self.run_script("status")
        lines = status.split("\n")
        for name in ["haproxy"] + ["broker%d" % n for n in range(1, BROKERS + 1)]:
            self.assertTrue(any(l.split()[:1] == [name] for l in lines), status)
        self.assertEqual(sum(1 for l in lines if l.endswith(" ok")), 6, status)  # the Redis nodes

        self.run_script("stop-broker", "1")
        # Broker 2 still serves the shadow the dead broker wrote.
        self.assertEqual(self.rest_get(self.base + 22, thing)["version"], 1)
        self.run_script("start-broker", "1")
        again = Client(b1, "again")
        self.addCleanup(again.close)
        again.subscribe(p + "/update/accepted", p + "/update/rejected")
        self.assertEqual(again.request(p, "update", {"state": {"desired": {"on": False}}}, token=new_token())[1]
                         ["version"], 2)
        self.assertEqual(device.take_one(p + "/update/delta").json()["version"], 2)
        self.run_script("stop")
        self.assertFalse(os.path.exists(self.dir))


if __name__ == "__main__":
    unittest.main()
