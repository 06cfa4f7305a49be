"""Mosquitto's own password_file and acl_file keep working for other topics
with the plugin loaded, and what plugin_opt_acl_fallback changes."""

import os
import subprocess
import unittest
import uuid

from security_case import SecurityCase
from shadowtest.broker import Broker
from shadowtest.mqtt import PUBACK_NOT_AUTHORIZED, SUBACK_FAILURE, V5, V311, ConnectRefused, prefix

PASSWORDS = {"dev1": "pw-dev1", "dev2": "pw-dev2", "console": "pw-console"}


def write_password_file(directory):
    path = os.path.join(directory, "passwords")
    for i, (user, password) in enumerate(sorted(PASSWORDS.items())):
        args = ["mosquitto_passwd", "-b", path, user, password]
        if i == 0:
            args.insert(1, "-c")
        subprocess.run(args, check=True, capture_output=True, timeout=30)
    return path


def write_file(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


class FilesCase(SecurityCase):
    ACL = None  # acl_file text, or None for no acl_file

    @classmethod
    def make_broker(cls):
        broker = Broker(options=cls.broker_options)
        # In the broker's directory, removed with it.
        files_dir = os.path.join(broker.dir, "files")
        os.makedirs(files_dir)
        broker.extra.append("password_file %s" % write_password_file(files_dir))
        if cls.ACL is not None:
            broker.extra.append("acl_file %s" % write_file(files_dir, "acl", cls.ACL))
        return broker

    def user(self, name, protocol=V311):
        return self.connect(name + "-" + uuid.uuid4().hex[:6], username=name,
                            password=PASSWORDS[name], protocol=protocol)


class BindingWithAclFileTest(FilesCase):
    broker_options = {"thing_identity": "username", "admin_usernames": "console", "acl_fallback": "defer"}
    ACL = ("user dev1\ntopic readwrite telemetry/dev1/#\n\n"
           "user dev2\ntopic readwrite telemetry/dev2/#\n\n"
           "user console\ntopic read telemetry/#\n")

    def test_wrong_password_is_refused(self):
        with self.assertRaises(ConnectRefused):
            self.connect(username="dev1", password="wrong")
        with self.assertRaises(ConnectRefused):
            self.connect(username="nobody", password="x")

    def test_acl_file_decides_other_topics(self):
        dev1 = self.user("dev1")
        dev2 = self.user("dev2")
        console = self.user("console")
        dev1.subscribe("telemetry/#")
        console.subscribe("telemetry/#")
        dev2.publish("telemetry/dev2/temp", b"dev2-data")
        dev1.publish("telemetry/dev2/temp", b"forged-by-dev1")  # not writable for dev1
        dev1.publish("telemetry/dev1/temp", b"dev1-data")
        # The console may read everything; its last message is dev1's own.
        self.assertEqual(console.take_one("telemetry/dev2/temp").payload, b"dev2-data")
        self.assertEqual(console.take_one("telemetry/dev1/temp").payload, b"dev1-data")
        self.assertNotIn(b"forged-by-dev1", [m.payload for m in console.pending()])
        # dev1 receives its own topic but not dev2's (read denied by the file).
        self.assertEqual(dev1.take_one("telemetry/dev1/temp").payload, b"dev1-data")
        self.assertEqual([m.topic for m in dev1.pending()], [])

    def test_shadows_are_decided_by_the_plugin(self):
        # The acl_file grants dev1 nothing under $aws, yet its own shadow works
        # (the plugin allows), and dev2's does not (the plugin denies).
        dev1 = self.user("dev1", V5)
        self.assertEqual(dev1.subscribe(prefix("dev1") + "/#", prefix("dev2") + "/#"),
                         [1, SUBACK_FAILURE[V5]])
        outcome, doc = self.request(dev1, prefix("dev1"), "update", {"state": {"reported": {"a": 1}}})
        self.assertEqual(outcome, "accepted", doc)
        self.assertEqual(dev1.publish(prefix("dev2") + "/update", {"state": {"reported": {"a": 1}}}),
                         PUBACK_NOT_AUTHORIZED)
        console = self.user("console")
        console.subscribe(prefix("dev2") + "/#")
        outcome, doc = self.request(console, prefix("dev2"), "get")
        self.assertEqual((outcome, doc.get("code")), ("rejected", 404))  # never created
        self.assert_broker_alive()


class DeferWithoutAclFileTest(FilesCase):
    # No acl_file: a deferring ACL callback leaves nobody to grant ordinary
    # topics, so Mosquitto denies them. This is why acl_fallback exists.
    broker_options = {"thing_identity": "username", "acl_fallback": "defer"}

    def test_ordinary_topics_are_denied_shadows_work(self):
        dev1 = self.user("dev1", V5)
        self.assertEqual(dev1.subscribe("plain/#"), [SUBACK_FAILURE[V5]])
        self.assertEqual(dev1.publish("plain/x", b"1"), PUBACK_NOT_AUTHORIZED)
        dev1.subscribe(prefix("dev1") + "/#")
        outcome, doc = self.request(dev1, prefix("dev1"), "get")
        self.assertEqual((outcome, doc.get("code")), ("rejected", 404))


class AllowWithoutAclFileTest(FilesCase):
    broker_options = {"thing_identity": "username", "acl_fallback": "allow"}

    def test_ordinary_topics_work(self):
        dev1 = self.user("dev1", V5)
        self.assertEqual(dev1.subscribe("plain/#"), [1])
        self.assertEqual(dev1.publish("plain/x", b"1"), 0)
        self.assertEqual(dev1.take_one("plain/x").payload, b"1")


class NoBindingAclFileTest(FilesCase):
    # Without binding the plugin registers no ACL callback: the acl_file
    # governs shadow topics too, e.g. a per-user pattern.
    broker_options = {}
    ACL = "pattern readwrite $aws/things/%u/shadow/#\n"

    def test_acl_file_pattern_binds_shadows(self):
        dev1 = self.user("dev1")
        dev1.subscribe(prefix("dev1") + "/#", prefix("dev2") + "/#")
        token = "foreign-" + uuid.uuid4().hex[:6]
        dev1.publish(prefix("dev2") + "/update",
                     {"state": {"reported": {"a": 1}}, "clientToken": token})
        outcome, doc = self.request(dev1, prefix("dev1"), "update", {"state": {"reported": {"a": 1}}})
        self.assertEqual(outcome, "accepted", doc)
        dev2 = self.user("dev2")
        dev2.subscribe(prefix("dev2") + "/#")
        outcome, doc = self.request(dev2, prefix("dev2"), "get")
        self.assertEqual((outcome, doc.get("code")), ("rejected", 404))  # dev1's update never ran


if __name__ == "__main__":
    unittest.main()
