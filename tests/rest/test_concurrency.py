"""REST and MQTT writers updating one shadow at the same time: updates without
a version field must all be applied, one version each, with no lost write, and
the update/documents events an MQTT subscriber sees must come in version
order."""

import json
import threading
import unittest

from shadowtest.mqtt import Client, prefix
from shadowtest.rest import RestTestCase, make_client

REST_WRITERS = 4
MQTT_WRITERS = 4
UPDATES_PER_WRITER = 50
MQTT_WINDOW = 5  # MQTT requests in flight per writer
TOTAL = (REST_WRITERS + MQTT_WRITERS) * UPDATES_PER_WRITER
THING = "conc1"
WAIT_S = 120.0


class MqttWriter:
    """An MQTT client that publishes updates tagged <name>-<n> and keeps the
    outcome of each of its own tokens."""

    def __init__(self, case, name, p):
        self.name = name
        self._cond = threading.Condition()
        self._outcomes = {}
        self.client = Client(case.broker.port, name, on_message=self._on_message)
        case.addCleanup(self.client.close)
        self.client.subscribe(p + "/update/accepted", p + "/update/rejected")

    def _on_message(self, m):
        try:
            token = m.json().get("clientToken", "")
        except ValueError:
            return
        if not token.startswith(self.name + "-"):
            return
        outcome = "accepted" if m.topic.endswith("/accepted") else "rejected: %r" % m.payload
        with self._cond:
            self._outcomes[token] = outcome
            self._cond.notify_all()

    def wait_for(self, count):
        """Waits until `count` of this writer's requests are answered."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._outcomes) >= count, WAIT_S):
                raise AssertionError("%s: %d of %d answers" % (self.name, len(self._outcomes), count))
            return list(self._outcomes.values())


class MixedWriters(RestTestCase):

    def test_rest_and_mqtt_writers_on_one_shadow(self):
        p = prefix(THING)
        observer = self.client("observer", p + "/update/documents")
        start = threading.Barrier(REST_WRITERS + MQTT_WRITERS)
        results = {}        # writer name -> list of outcomes ("accepted" or an error text)
        failures = []       # exceptions raised inside threads
        lock = threading.Lock()

        def record(name, outcomes):
            with lock:
                results[name] = outcomes

        def rest_writer(i):
            name = "rest%d" % i
            try:
                client = make_client(self.broker)  # boto3 clients are per thread
                start.wait(timeout=WAIT_S)
                outcomes = []
                for n in range(UPDATES_PER_WRITER):
                    body = json.dumps({"state": {"reported": {name: n}}}).encode()
                    try:
                        client.update_thing_shadow(thingName=THING, payload=body)
                        outcomes.append("accepted")
                    except Exception as e:  # recorded; the assertion below reports it
                        outcomes.append("error: %r" % e)
                record(name, outcomes)
            except Exception as e:
                with lock:
                    failures.append((name, e))

        # MQTT writers: each pipelines its QoS 1 updates a window at a time
        # (the broker handles one client's messages in order). Every writer also receives
        # everyone else's answers, so answers are counted in the network
        # thread by clientToken instead of being buffered.
        mqtt_writers = [MqttWriter(self, "mqtt%d" % i, p) for i in range(MQTT_WRITERS)]

        def mqtt_writer(i):
            w = mqtt_writers[i]
            try:
                start.wait(timeout=WAIT_S)
                for n in range(UPDATES_PER_WRITER):
                    w.client.publish(p + "/update", {"state": {"reported": {w.name: n}},
                                                     "clientToken": "%s-%d" % (w.name, n)}, wait=False)
                    if n % MQTT_WINDOW == MQTT_WINDOW - 1:
                        w.wait_for(n + 1)  # keeps MQTT traffic spread over the REST traffic
                record(w.name, w.wait_for(UPDATES_PER_WRITER))
            except Exception as e:
                with lock:
                    failures.append((w.name, e))

        threads = [threading.Thread(target=rest_writer, args=(i,)) for i in range(REST_WRITERS)]
        threads += [threading.Thread(target=mqtt_writer, args=(i,)) for i in range(MQTT_WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT_S)
        self.assertFalse([t for t in threads if t.is_alive()], "writers did not finish")
        self.assertEqual(failures, [])

        accepted = sum(o == "accepted" for outcomes in results.values() for o in outcomes)
        errors = [(name, o) for name, outcomes in results.items() for o in outcomes if o != "accepted"]
        self.assertEqual(errors, [], "updates without a version must not fail")
        self.assertEqual(accepted, TOTAL)

        final = self.rest_get(THING)
        self.assertEqual(final["version"], accepted)
        expected = {"rest%d" % i: UPDATES_PER_WRITER - 1 for i in range(REST_WRITERS)}
        expected.update({"mqtt%d" % i: UPDATES_PER_WRITER - 1 for i in range(MQTT_WRITERS)})
        self.assertEqual(final["state"]["reported"], expected)

        # Every accepted update produced exactly one documents event, in
        # version order, each chained to the one before.
        docs = [m.json() for m in observer.take(p + "/update/documents", TOTAL, timeout=WAIT_S)]
        versions = [d["current"]["version"] for d in docs]
        self.assertEqual(versions, list(range(1, TOTAL + 1)))
        for d in docs[1:]:
            self.assertEqual(d["previous"]["version"], d["current"]["version"] - 1)
            self.assertEqual(d["previous"]["state"], docs[d["previous"]["version"] - 1]["current"]["state"])


if __name__ == "__main__":
    unittest.main()
