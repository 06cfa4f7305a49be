"""Fleet updates against a real broker (docs/fleet.md#fleet-updates): a
query over two thousand shadows with devices connected (each matching
device receives exactly its own delta, once), progress and statistics,
idempotent operation ids, bad requests, cancellation, a named target
shadow, and a broker killed mid-operation that resumes without updating
any shadow twice."""

import threading
import unittest

from shadowtest.fleet import (FLEET_UPDATES, call, describe_update, fill, start_update,
                              wait_update)
from shadowtest.mqtt import new_token
from shadowtest.rest import RestBroker, RestTestCase, make_iot_client

THINGS = 2000


def thing(i):
    return "line-7-%04d" % i


def temp(i):
    return i % 100


MATCHES = [i for i in range(THINGS) if temp(i) > 50]
QUERY = "thingName:line-7* AND shadow.reported.temp > 50"


def fill_fleet(port):
    docs = [(thing(i), None, {"reported": {"temp": temp(i)}}) for i in range(THINGS)]
    docs += [("other-%d" % i, None, {"reported": {"temp": 99}}) for i in range(20)]
    fill(port, docs)


class DeltaCounter:
    """An application watching every delta: counts them per thing."""

    def __init__(self, test):
        self.cond = threading.Condition()
        self.counts = {}
        self.echoes = set()
        self.echo_topic = "fleet-test/echo/" + new_token()
        self.client = test.client("observer", on_message=self.on_message)
        self.client.subscribe("$aws/things/+/shadow/update/delta", self.echo_topic)

    def on_message(self, m):
        with self.cond:
            if m.topic == self.echo_topic:
                self.echoes.add(m.payload)
            elif m.topic.startswith("$aws/things/") and m.topic.endswith("/update/delta"):
                name = m.topic.split("/")[2]
                self.counts[name] = self.counts.get(name, 0) + 1
            self.cond.notify_all()

    def barrier(self):
        """Every message queued for the observer before this call has
        arrived once it returns: a message of its own makes the round trip."""
        payload = new_token("echo").encode()
        self.client.publish(self.echo_topic, payload)
        with self.cond:
            if not self.cond.wait_for(lambda: payload in self.echoes, 60):
                raise AssertionError("observer: the echo did not come back")
            return dict(self.counts)


class FleetUpdate(RestTestCase):
    # Room for every delta the observer is sent at once.
    broker_extra = ["max_queued_messages 100000"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fill_fleet(cls.broker.port)
        cls.control = make_iot_client(cls.broker)

    def test_devices_receive_their_own_delta_once(self):
        devices = {}
        for k in range(40):
            i = k * 7
            p = "$aws/things/%s/shadow" % thing(i)
            devices[i] = self.client("dev", p + "/update/delta", p + "/get/accepted", p + "/get/rejected",
                                     client_id=thing(i))
        counter = DeltaCounter(self)
        r = start_update(self.broker, QUERY, {"desired": {"fan": "on"}}, operation_id="fan-on")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["status"], "RUNNING")
        op = wait_update(self.broker, "fan-on")
        self.assertEqual(op["status"], "COMPLETED", op)
        self.assertEqual((op["matched"], op["updated"], op["failed"]), (len(MATCHES), len(MATCHES), 0))
        self.assertEqual(op["lastThingName"], thing(THINGS - 1))
        for i, dev in devices.items():
            dev.barrier("$aws/things/%s/shadow" % thing(i))  # anything earlier has arrived
            deltas = dev.pending("$aws/things/%s/shadow/update/delta" % thing(i))
            if i in MATCHES:
                self.assertEqual(len(deltas), 1, thing(i))
                d = deltas[0].json()
                self.assertEqual(d["state"], {"fan": "on"})
                self.assertEqual(d["clientToken"], "fan-on")
                self.assertEqual(d["version"], 2)
            else:
                self.assertEqual(deltas, [], thing(i))
        self.assertEqual(counter.barrier(), {thing(i): 1 for i in MATCHES})
        s = self.control.get_statistics(queryString="shadow.desired.fan:on")["statistics"]
        self.assertEqual(s["count"], len(MATCHES))

        # The same id again: the operation as it is, nothing runs twice.
        again = start_update(self.broker, QUERY, {"desired": {"fan": "on"}}, operation_id="fan-on")
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json()["updated"], len(MATCHES))
        other = start_update(self.broker, QUERY, {"desired": {"fan": "off"}}, operation_id="fan-on")
        self.assertEqual((other.status, other.error_type()), (409, "ConflictException"))
        listed = call(self.broker, "GET", FLEET_UPDATES).json()["operations"]
        self.assertIn("fan-on", [o["operationId"] for o in listed])

    def test_named_shadow_and_reported_state(self):
        r = start_update(self.broker, "thingName:other-*", {"reported": {"firmware": "2.1"}},
                         operation_id="named", shadow="ota")
        self.assertEqual(r.status, 201, r)
        op = wait_update(self.broker, "named")
        self.assertEqual((op["status"], op["updated"]), ("COMPLETED", 20))
        doc = self.rest_get("other-3", shadow="ota")
        self.assertEqual(doc["state"]["reported"], {"firmware": "2.1"})
        self.assertEqual(self.rest_get("other-3")["version"], 1)  # the classic shadow is untouched

    def test_bad_requests(self):
        cases = [
            ({"state": {"desired": {"a": 1}}}, 400, "InvalidRequestException", "queryString"),
            ({"queryString": "*"}, 400, "InvalidRequestException", "state"),
            ({"queryString": "thingName:(", "state": {"desired": {"a": 1}}}, 400, "InvalidQueryException", "position"),
            ({"queryString": "attributes.x:1", "state": {"desired": {"a": 1}}}, 400, "InvalidQueryException",
             "registry"),
            ({"queryString": "*", "state": {"desired": 5}}, 400, "InvalidRequestException", "Desired node"),
            ({"queryString": "*", "state": {"delta": {}}}, 400, "InvalidRequestException", "delta"),
            ({"queryString": "*", "state": {"desired": {"a": 1}}, "operationId": "no spaces"}, 400,
             "InvalidRequestException", "operationId"),
            ({"queryString": "*", "state": {"desired": {"a": 1}}, "version": 3}, 400, "InvalidRequestException",
             "version"),
        ]
        for body, status, error, fragment in cases:
            with self.subTest(body=body):
                r = call(self.broker, "POST", FLEET_UPDATES, body)
                self.assertEqual((r.status, r.error_type()), (status, error), r)
                self.assertIn(fragment, r.json()["message"])
        self.assertEqual(call(self.broker, "GET", FLEET_UPDATES + "/nope").status, 404)
        self.assertEqual(call(self.broker, "PUT", FLEET_UPDATES).status, 405)
        # Signed as the control plane works too.
        r = call(self.broker, "GET", FLEET_UPDATES, service="execute-api")
        self.assertEqual(r.status, 200)


class FleetUpdateCancel(RestTestCase):
    # One shadow per broker loop pass: the operation is still running when
    # the cancellation arrives.
    broker_options = {"fleet_update_batch": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fill_fleet(cls.broker.port)
        cls.control = make_iot_client(cls.broker)

    def test_cancel(self):
        r = start_update(self.broker, "thingName:line-7*", {"desired": {"cancelled": True}}, operation_id="to-cancel")
        self.assertEqual(r.status, 201, r)
        c = call(self.broker, "POST", FLEET_UPDATES + "/to-cancel/cancel")
        self.assertEqual(c.status, 200, c)
        stopped = c.json()
        self.assertEqual(stopped["status"], "CANCELLED")
        self.assertLess(stopped["updated"], THINGS)
        # Nothing more happens after the cancellation returned: the shadows
        # updated are exactly those the operation counts.
        s = self.control.get_statistics(queryString="shadow.desired.cancelled:true")["statistics"]
        self.assertEqual(s["count"], stopped["updated"])
        self.assertEqual(describe_update(self.broker, "to-cancel")["updated"], stopped["updated"])
        again = call(self.broker, "POST", FLEET_UPDATES + "/to-cancel/cancel")
        self.assertEqual(again.status, 200)
        gone = call(self.broker, "DELETE", FLEET_UPDATES + "/to-cancel")
        self.assertEqual(gone.status, 200, gone)
        self.assertEqual(call(self.broker, "GET", FLEET_UPDATES + "/to-cancel").status, 404)


class FleetUpdateRestart(unittest.TestCase):
    """A broker killed (SIGKILL) in the middle of an operation resumes it
    after a restart, exactly after the last thing it updated."""

    def test_resumes_without_updating_twice(self):
        broker = RestBroker(options={"fleet_update_batch": 5})
        self.addCleanup(broker.cleanup)
        broker.start()
        fill_fleet(broker.port)
        r = start_update(broker, QUERY, {"desired": {"mode": "night"}}, operation_id="night")
        self.assertEqual(r.status, 201, r)
        before = wait_update(broker, "night", until=lambda op: op["updated"] >= 100)
        self.assertEqual(before["status"], "RUNNING", "the operation finished before the kill; make it longer")
        broker.kill9()
        broker.start()
        resumed = describe_update(broker, "night")
        self.assertIn(resumed["status"], ("RUNNING", "COMPLETED"))
        self.assertGreaterEqual(resumed["updated"], before["updated"])
        done = wait_update(broker, "night")
        self.assertEqual(done["status"], "COMPLETED", done)
        self.assertEqual((done["matched"], done["updated"], done["failed"]), (len(MATCHES), len(MATCHES), 0))
        control = make_iot_client(broker)
        stats = control.get_statistics(queryString="shadow.desired.mode:night", aggregationField="shadow.version")
        s = stats["statistics"]
        # Each matching shadow once: version 2, never 3.
        self.assertEqual((s["count"], s["minimum"], s["maximum"]), (len(MATCHES), 2, 2))


if __name__ == "__main__":
    unittest.main()
