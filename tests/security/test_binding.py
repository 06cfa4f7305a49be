"""Thing binding: a device may use only its own thing's shadows.

Device "dev1" attacks thing "dev2" (classic and named shadow, both topic
forms, MQTT 3.1.1 and 5): it cannot get, update, delete, subscribe to or
spoof dev2's shadows; an admin application can do everything; the broker
stays up. Binding by client id and by username (with the SDK metrics suffix).
"""

import unittest
import uuid

from security_case import SecurityCase
from shadowtest.mqtt import PUBACK_NOT_AUTHORIZED, SUBACK_FAILURE, V5, V311, prefix, token_of

FORMS = ("aws", "short")
SHADOWS = (None, "cfg")
SDK_SUFFIX = "?SDK=IoTDeviceSDK/JS&Platform=Unix&Metadata=(CRTVersion=1.33.1;IoTSDKFeature=F/3)"


class BindingChecks:
    """Shared checks; subclasses say how a client becomes dev1 or an admin."""

    def device(self, thing, protocol=V311):
        raise NotImplementedError

    def admin(self, protocol=V311):
        raise NotImplementedError

    def observer(self):
        """An admin subscribed to every shadow topic of dev2."""
        obs = self.admin()
        codes = obs.subscribe(prefix("dev2") + "/#", prefix("dev2", form="short") + "/#")
        self.assertEqual(codes, [1, 1])
        return obs

    def seed_victim(self, admin, p):
        outcome, doc = self.request(admin, p, "update",
                                    {"state": {"reported": {"owner": "dev2"}}})
        self.assertEqual(outcome, "accepted", doc)
        return self.snapshot(admin, p)

    def snapshot(self, client, p):
        outcome, doc = self.request(client, p, "get")
        self.assertEqual(outcome, "accepted", doc)
        return doc["version"], doc["state"]

    def check_attacks(self, protocol):
        obs = self.observer()
        attacker = self.device("dev1", protocol)
        for form in FORMS:
            for shadow in SHADOWS:
                with self.subTest(form=form, shadow=shadow):
                    self._attack_one(obs, attacker, protocol, prefix("dev1", shadow, form),
                                     prefix("dev2", shadow, form))
        self.assert_broker_alive()

    def _attack_one(self, obs, attacker, protocol, own, victim):
        before = self.seed_victim(obs, victim)
        failure = SUBACK_FAILURE[protocol]
        expected_puback = PUBACK_NOT_AUTHORIZED if protocol == V5 else 0

        # Subscriptions to the victim's topics are refused, one code per filter.
        codes = attacker.subscribe(victim + "/update/accepted", victim + "/#", victim + "/+/+",
                                   victim + "/update/delta", own + "/#")
        self.assertEqual(codes, [failure] * 4 + [1])

        # Requests on the victim's topics: not authorized (v5: PUBACK 0x87;
        # 3.1.1 has no code, the broker drops the message).
        tokens = []
        for op, body in (("get", {}), ("update", {"state": {"reported": {"owner": "dev1"}}}),
                         ("delete", {})):
            token = "attack-" + uuid.uuid4().hex[:8]
            tokens.append(token)
            body = dict(body, clientToken=token)
            self.assertEqual(attacker.publish(victim + "/" + op, body), expected_puback, op)

        # Spoofed responses and events, on the victim's and on its own topics.
        for topic in (victim + "/update/delta", victim + "/get/accepted",
                      victim + "/update/documents", own + "/update/delta",
                      own + "/delete/rejected"):
            payload = {"state": {"spoof": 1}, "version": 999, "clientToken": "spoof"}
            self.assertEqual(attacker.publish(topic, payload), expected_puback, topic)

        # The victim's shadow is unchanged, and the observer, which would see
        # every reply to and every copy of those requests, saw none: its own
        # get (answered after everything the attacker sent, which the broker
        # has acknowledged) comes back first.
        self.assertEqual(self.snapshot(obs, victim), before)
        leaked = [m for m in obs.pending() if token_of(m) in tokens + ["spoof"]]
        self.assertEqual(leaked, [])

        # The attacker's own shadow works, and the answer, sent after
        # everything its attack caused, comes before anything of the victim.
        outcome, doc = self.request(attacker, own, "update", {"state": {"reported": {"ok": True}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual([m for m in attacker.pending() if m.topic.startswith(victim)], [])
        obs.clear()
        attacker.clear()

    def test_device_cannot_touch_another_things_shadow_v311(self):
        self.check_attacks(V311)

    def test_device_cannot_touch_another_things_shadow_v5(self):
        self.check_attacks(V5)

    def test_wildcard_filters_over_all_things_are_refused_for_devices(self):
        for protocol in (V311, V5):
            with self.subTest(protocol=protocol):
                dev = self.device("dev1", protocol)
                failure = SUBACK_FAILURE[protocol]
                codes = dev.subscribe("$aws/things/+/shadow/#", "+/shadow/#",
                                      "$aws/things/+/shadow/+/+", "$aws/things/dev1/shadow/#",
                                      "$aws/things/dev1/shadow/name/+/+/+")
                self.assertEqual(codes, [failure, failure, failure, 1, 1])
                dev.close()

    def test_broad_filter_delivers_no_foreign_shadow_topics(self):
        # '#' also matches non-shadow topics, so the broker's ACL decides the
        # subscription; each delivery of another thing's shadow topic is refused.
        dev = self.device("dev1")
        self.assertEqual(dev.subscribe("#"), [1])
        adm = self.admin()
        adm.subscribe(prefix("dev2", form="short") + "/update/+", prefix("dev1", form="short") + "/update/+")
        outcome, doc = self.request(adm, prefix("dev2", form="short"), "update",
                                    {"state": {"desired": {"color": "red"}}})
        self.assertEqual(outcome, "accepted", doc)
        outcome, doc = self.request(adm, prefix("dev1", form="short"), "update",
                                    {"state": {"desired": {"color": "blue"}}})
        self.assertEqual(outcome, "accepted", doc)
        adm.publish("news/today", b"end")
        dev.take_one("news/today")  # delivered after everything published before it
        topics = [m.topic for m in dev.pending()]
        self.assertFalse([t for t in topics if t.startswith("dev2/")], topics)
        self.assertIn("dev1/shadow/update/delta", topics)

    def test_admin_can_do_everything(self):
        for protocol in (V311, V5):
            with self.subTest(protocol=protocol):
                adm = self.admin(protocol)
                self.assertEqual(adm.subscribe("$aws/things/+/shadow/#", "+/shadow/#"), [1, 1])
                for form in FORMS:
                    for shadow in SHADOWS:
                        p = prefix("dev2", shadow, form)
                        outcome, doc = self.request(adm, p, "update",
                                                    {"state": {"desired": {"by": "admin"}}})
                        self.assertEqual(outcome, "accepted", doc)
                        self.assertEqual(self.request(adm, p, "get")[0], "accepted")
                        self.assertEqual(self.request(adm, p, "delete")[0], "accepted")
                # Even an admin cannot publish a fake event.
                expected = PUBACK_NOT_AUTHORIZED if protocol == V5 else 0
                self.assertEqual(adm.publish(prefix("dev2") + "/update/delta", {"state": {}}),
                                 expected)
                adm.close()
        self.assert_broker_alive()


class ClientIdBindingTest(BindingChecks, SecurityCase):
    broker_options = {"thing_identity": "client_id", "admin_usernames": "console,ops",
               "acl_fallback": "allow"}

    def device(self, thing, protocol=V311):
        return self.connect(thing, protocol=protocol)

    def admin(self, protocol=V311):
        return self.connect("app-" + uuid.uuid4().hex[:8], username="console", protocol=protocol)


class UsernameBindingTest(BindingChecks, SecurityCase):
    broker_options = {"thing_identity": "username", "admin_pattern": "app-*", "acl_fallback": "allow"}

    def device(self, thing, protocol=V311):
        # The AWS SDKs append metrics to the username; binding strips them.
        return self.connect(username=thing + SDK_SUFFIX, protocol=protocol)

    def admin(self, protocol=V311):
        return self.connect(username="app-backend" + SDK_SUFFIX, protocol=protocol)

    def test_client_id_does_not_matter_in_username_mode(self):
        dev = self.connect("dev2", username="dev1", protocol=V5)
        self.assertEqual(dev.publish(prefix("dev2") + "/update",
                                     {"state": {"reported": {"x": 1}}}), PUBACK_NOT_AUTHORIZED)

    def test_client_without_username_has_no_shadow(self):
        anon = self.connect("dev1", protocol=V5)
        self.assertEqual(anon.subscribe(prefix("dev1") + "/#"), [SUBACK_FAILURE[V5]])
        self.assertEqual(anon.publish(prefix("dev1") + "/get", {}), PUBACK_NOT_AUTHORIZED)


if __name__ == "__main__":
    unittest.main()
