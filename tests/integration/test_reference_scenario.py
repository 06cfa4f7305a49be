"""The reference device/application scenario, end to end over MQTT.

A device reports {lights:on, doors:locked}; an application sets desired
lights:off; the device receives the delta and reports it; finally the device
sets desired and reported lights:on together. Run for the classic and a named
shadow, in the $aws topic form and the short form. Events (delta, documents)
must also appear on the other form; responses only on the form of the request.
"""

import unittest

from shadowtest.cases import BrokerTestCase
from shadowtest.mqtt import prefix


def ts(t):
    return {"timestamp": t}


class ReferenceScenario(BrokerTestCase):

    def run_scenario(self, thing, shadow, form):
        other_form = "short" if form == "aws" else "aws"
        p = prefix(thing, shadow, form)
        o = prefix(thing, shadow, other_form)

        device = self.client("device", p + "/update/delta", p + "/update/accepted",
                             p + "/update/rejected", p + "/get/accepted", p + "/get/rejected")
        app = self.client("app", p + "/update/accepted", p + "/update/rejected",
                          p + "/update/documents", p + "/get/accepted", p + "/get/rejected")
        # Watches the other topic form: gets events, never responses.
        observer = self.client("observer", o + "/update/delta", o + "/update/documents",
                               o + "/update/accepted", o + "/update/rejected",
                               o + "/get/accepted", o + "/get/rejected")

        def expect_no_delta():
            device.barrier(p)
            self.assertEqual(device.pending(p + "/update/delta"), [])
            observer.barrier(o)
            self.assertEqual(observer.pending(o + "/update/delta"), [])

        def expect_documents(previous, current, t, token):
            docs = app.take_one(p + "/update/documents")
            expected = {"previous": previous, "current": current, "timestamp": t,
                        "clientToken": token}
            self.assertEqual(docs.json(), expected)
            self.assertEqual(list(docs.json()), ["previous", "current", "timestamp", "clientToken"])
            # The same event is published on the other topic form.
            self.assertEqual(observer.take_one(o + "/update/documents").json(), expected)

        def expect_accepted(request, version, token, metadata):
            acc = device.take_one(p + "/update/accepted").json()
            t = acc.get("timestamp")
            self.assertTimestamp(t)
            self.assertEqual(acc, {"state": request["state"], "metadata": metadata(t),
                                   "version": version, "timestamp": t, "clientToken": token})
            self.assertEqual(list(acc), ["state", "metadata", "version", "timestamp", "clientToken"])
            # Every subscriber of the response topic receives it.
            self.assertEqual(app.take_one(p + "/update/accepted").json(), acc)
            return t

        # 1. The device reports its initial state: shadow created at version 1.
        r1 = {"state": {"reported": {"lights": "on", "doors": "locked"}}, "clientToken": "dev-1"}
        device.publish(p + "/update", r1)
        t1 = expect_accepted(r1, 1, "dev-1",
                             lambda t: {"reported": {"lights": ts(t), "doors": ts(t)}})
        v1 = {"state": {"reported": {"lights": "on", "doors": "locked"}},
              "metadata": {"reported": {"lights": ts(t1), "doors": ts(t1)}}, "version": 1}
        expect_documents(None, v1, t1, "dev-1")
        expect_no_delta()

        # 2. The application asks for lights off: the device receives a delta.
        r2 = {"state": {"desired": {"lights": "off"}}, "clientToken": "app-1"}
        app.publish(p + "/update", r2)
        acc2 = app.take_one(p + "/update/accepted").json()
        t2 = acc2["timestamp"]
        self.assertTimestamp(t2)
        self.assertEqual(acc2, {"state": r2["state"], "metadata": {"desired": {"lights": ts(t2)}},
                                "version": 2, "timestamp": t2, "clientToken": "app-1"})
        self.assertEqual(device.take_one(p + "/update/accepted").json(), acc2)
        delta = device.take_one(p + "/update/delta").json()
        expected_delta = {"version": 2, "timestamp": t2, "state": {"lights": "off"},
                          "metadata": {"lights": ts(t2)}, "clientToken": "app-1"}
        self.assertEqual(delta, expected_delta)
        self.assertEqual(list(delta), ["version", "timestamp", "state", "metadata", "clientToken"])
        self.assertEqual(observer.take_one(o + "/update/delta").json(), expected_delta)
        v2 = {"state": {"desired": {"lights": "off"},
                        "reported": {"lights": "on", "doors": "locked"}},
              "metadata": {"desired": {"lights": ts(t2)},
                           "reported": {"lights": ts(t1), "doors": ts(t1)}}, "version": 2}
        expect_documents(v1, v2, t2, "app-1")

        # 3. The device applies the delta and reports it: in sync, no delta.
        r3 = {"state": {"reported": delta["state"]}, "clientToken": "dev-2"}
        device.publish(p + "/update", r3)
        t3 = expect_accepted(r3, 3, "dev-2", lambda t: {"reported": {"lights": ts(t)}})
        v3 = {"state": {"desired": {"lights": "off"},
                        "reported": {"lights": "off", "doors": "locked"}},
              "metadata": {"desired": {"lights": ts(t2)},
                           "reported": {"lights": ts(t3), "doors": ts(t1)}}, "version": 3}
        expect_documents(v2, v3, t3, "dev-2")
        expect_no_delta()

        # 4. The device sets desired and reported together.
        r4 = {"state": {"desired": {"lights": "on"}, "reported": {"lights": "on"}},
              "clientToken": "dev-3"}
        device.publish(p + "/update", r4)
        t4 = expect_accepted(r4, 4, "dev-3", lambda t: {"desired": {"lights": ts(t)},
                                                        "reported": {"lights": ts(t)}})
        v4 = {"state": {"desired": {"lights": "on"},
                        "reported": {"lights": "on", "doors": "locked"}},
              "metadata": {"desired": {"lights": ts(t4)},
                           "reported": {"lights": ts(t4), "doors": ts(t1)}}, "version": 4}
        expect_documents(v3, v4, t4, "dev-3")
        expect_no_delta()

        # Responses went only to the request's topic form (expect_no_delta
        # put barriers behind them for device and observer).
        app.barrier(p)
        self.assertEqual(observer.pending([o + "/update/accepted", o + "/update/rejected"]), [])
        self.assertEqual(device.pending(p + "/update/rejected"), [])
        self.assertEqual(app.pending(p + "/update/rejected"), [])

        # The final document reads the same through both forms (no delta key).
        for q in (p, o):
            doc = self.get_accepted(q)
            self.assertTimestamp(doc["timestamp"])
            self.assertStored(doc, v4)
            self.assertNotIn("delta", doc["state"])

    def test_classic_aws_form(self):
        self.run_scenario("dev1", None, "aws")

    def test_classic_short_form(self):
        self.run_scenario("dev2", None, "short")

    def test_named_aws_form(self):
        self.run_scenario("dev3", "cfg", "aws")

    def test_named_short_form(self):
        self.run_scenario("dev4", "cfg", "short")


class TopicForms(BrokerTestCase):
    """Both topic forms address the same stored shadow."""

    def test_written_short_read_aws(self):
        s, a = prefix("form1", None, "short"), prefix("form1", None, "aws")
        acc = self.update_accepted(s, {"state": {"desired": {"v": 1}}, "clientToken": "s1"})
        self.assertEqual(acc["version"], 1)
        doc = self.get_accepted(a)
        self.assertEqual(doc["state"], {"desired": {"v": 1}, "delta": {"v": 1}})
        self.assertEqual(doc["version"], 1)

    def test_written_aws_read_short_named(self):
        a, s = prefix("form2", "cfg", "aws"), prefix("form2", "cfg", "short")
        self.update_accepted(a, {"state": {"reported": {"x": "y"}}})
        doc = self.get_accepted(s)
        self.assertEqual(doc["state"], {"reported": {"x": "y"}})
        # An optimistic-lock update through the other form sees the same version.
        acc = self.update_accepted(s, {"state": {"reported": {"x": "z"}}, "version": doc["version"]})
        self.assertEqual(acc["version"], doc["version"] + 1)
        self.assertEqual(self.get_accepted(a)["state"], {"reported": {"x": "z"}})

    def test_classic_and_named_are_independent(self):
        self.update_accepted(prefix("form3"), {"state": {"reported": {"a": 1}}})
        self.update_accepted(prefix("form3", "cfg", "short"), {"state": {"desired": {"b": 2}}})
        classic = self.get_accepted(prefix("form3", None, "short"))
        named = self.get_accepted(prefix("form3", "cfg"))
        self.assertEqual((classic["state"], classic["version"]), ({"reported": {"a": 1}}, 1))
        self.assertEqual((named["state"], named["version"]),
                         ({"desired": {"b": 2}, "delta": {"b": 2}}, 1))

    def test_deleted_in_one_form_is_gone_in_the_other(self):
        a, s = prefix("form4", None, "aws"), prefix("form4", None, "short")
        self.update_accepted(a, {"state": {"reported": {"a": 1}}})
        outcome, doc = self.request(s, "delete", {"clientToken": "d1"})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["clientToken"], "d1")
        outcome, doc = self.get_shadow(a)
        self.assertEqual((outcome, doc), ("rejected",
                                          {"code": 404, "message": "No shadow exists with name: 'form4'"}))


if __name__ == "__main__":
    unittest.main()
