"""The Debian package's life on this machine, with apt, as an administrator
lives it (docs/debian-package.md):

1. `apt-get install ./mosquitto-shadow_V-1_ARCH.deb`: files in place, the
   data directory owned by mosquitto, no broker restart on a first install.
2. The broker started as mosquitto.service starts it (systemd_unit.py: the
   unit's and the drop-in's ExecStartPre, LimitNOFILE, ExecStart, since CI has
   no running systemd): it runs as user mosquitto with the drop-in's
   descriptor limit and answers an update and a get.
3. A local edit of the conffile (the REST API on), then the upgrade to
   revision 2 while the broker runs: the maintainer script asks for
   `invoke-rc.d mosquitto try-restart` (restart only if running), the edit is
   kept, and after the restart the shadow is still there, over MQTT and
   through the installed shadowctl.
4. remove: programs, drop-in and docs go; configuration and shadows stay.
   Reinstalling brings the same shadow back.
5. purge: configuration and shadows go; Mosquitto and its own configuration
   are as they were.

It installs into the real system (not a dpkg --root tree: the package's
dependencies, maintainer scripts and the broker's user need the real one), so
it runs only where that is safe: as root, with Debian's mosquitto installed but
not configured or running as a service, mosquitto-shadow unknown to dpkg and
port 1883 free. Elsewhere it is skipped and says why; on CI (CI=true) that is a
failure. Whatever happens, it stops its brokers and purges the package.

invoke-rc.d is replaced, on the PATH that apt gives dpkg and so the maintainer
scripts (DPkg::Path), by a script that records its arguments and does nothing: the test
checks which restarts the package asks for, and restarts the broker itself as
systemd would, so that a broker started by an init script never escapes it.
"""

import grp
import hashlib
import json
import os
import pwd
import queue
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import unittest

import paho.mqtt.client as mqtt

import debs
import systemd_unit

THING = "pkg-test"
MQTT_PORT = 1883  # where Debian's configuration, with no listener, serves
BROKER_LOG = "/var/log/mosquitto/mosquitto.log"
BROKER_DB = "/var/lib/mosquitto/mosquitto.db"  # Mosquitto's own persistence
DPKG_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def why_not_here():
    """Why installing the package here could harm the machine, or None."""
    if os.geteuid() != 0:
        return "it installs the package with apt and needs root"
    if debs.dpkg_status("mosquitto") != "install ok installed":
        return "Debian's mosquitto package is not installed"
    status = debs.dpkg_status()
    if status is not None:
        return "dpkg already knows mosquitto-shadow (%s); the test would replace and purge it" % status
    if os.path.exists(debs.DATA_DIR):
        return "%s exists, and purging the package deletes it" % debs.DATA_DIR
    own = sorted(set(os.listdir("/etc/mosquitto/conf.d")) - {"README"})
    if own:
        return "/etc/mosquitto/conf.d holds a configuration (%s) that the broker started here would load" % (
            ", ".join(own))
    if os.path.isdir("/run/systemd/system") and subprocess.run(
            ["systemctl", "is-active", "--quiet", "mosquitto"], timeout=30).returncode == 0:
        return "the mosquitto service is running, and it would get the plugin"
    if port_in_use(MQTT_PORT):
        return "port %d is in use (another broker?), and the system configuration listens there" % MQTT_PORT
    return None


def tree_snapshot(top):
    """Path -> (mode, owner, group, sha256) of everything under top."""
    snapshot = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            snapshot[path] = (st.st_mode, st.st_uid, st.st_gid, digest)
    return snapshot


def shadow_request(thing, operation, payload, timeout_s=10.0):
    """One MQTT shadow request; returns ('accepted'|'rejected', document)."""
    replies = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(client_id="pkg-test-%d" % os.getpid(), clean_session=True)
    client.on_message = lambda c, u, m: replies.put((m.topic, m.payload))
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", MQTT_PORT, keepalive=30)
    client.loop_start()
    try:
        topic = "$aws/things/%s/shadow/%s" % (thing, operation)
        client.subscribe([(topic + "/accepted", 1), (topic + "/rejected", 1)])
        if not subscribed.wait(timeout_s):
            raise TimeoutError("no SUBACK within %.0f s" % timeout_s)
        client.publish(topic, payload, qos=1)
        try:
            reply_topic, body = replies.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError("no reply on %s/accepted or /rejected within %.0f s" % (topic, timeout_s))
        return reply_topic.rsplit("/", 1)[1], json.loads(body)
    finally:
        client.loop_stop()
        client.disconnect()


def documented_check():
    """The mosquitto_rr command of docs/debian-package.md and the output shown
    after it, with timestamps as the only free values."""
    with open(os.path.join(debs.REPO, "docs", "debian-package.md")) as f:
        blocks = re.findall(r"(?ms)^```(\w*)\n(.*?)^```", f.read())
    for i, (lang, body) in enumerate(blocks):
        if lang == "sh" and body.startswith("mosquitto_rr "):
            command, expected = body.strip(), blocks[i + 1][1].strip()
            return command, re.compile(re.escape(expected).replace("1764140000", r"\d+"))
    raise AssertionError("docs/debian-package.md has no mosquitto_rr block")


class SystemPackage(unittest.TestCase):
    def setUp(self):
        reason = why_not_here()
        if reason:
            if os.environ.get("CI") == "true":
                self.fail("the package test must run on CI, but cannot: " + reason)
            self.skipTest("package test skipped: " + reason)
        self.deb1, self.deb2 = debs.deb(1), debs.deb(2)
        self.mosquitto_uid = pwd.getpwnam("mosquitto").pw_uid
        self.mosquitto_gid = grp.getgrnam("mosquitto").gr_gid
        self.etc_before = tree_snapshot("/etc/mosquitto")
        self.dropins_before = sorted(os.listdir(os.path.dirname(debs.DROPIN))) if os.path.isdir(
            os.path.dirname(debs.DROPIN)) else None
        self.tmp = tempfile.mkdtemp(prefix="shadow-package-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        # Mosquitto's own persistence file, written by the system broker.
        self.broker_db_backup = None
        if os.path.exists(BROKER_DB):
            self.broker_db_backup = os.path.join(self.tmp, "mosquitto.db")
            shutil.copy2(BROKER_DB, self.broker_db_backup)
        self.addCleanup(self.restore_broker_db)
        # invoke-rc.d stand-in (see the module docstring).
        self.shim = os.path.join(self.tmp, "bin")
        os.mkdir(self.shim)
        self.calls = os.path.join(self.tmp, "invoke-rc.d.calls")
        with open(os.path.join(self.shim, "invoke-rc.d"), "w") as f:
            f.write('#!/bin/sh\necho "$*" >>"%s"\n' % self.calls)
        os.chmod(os.path.join(self.shim, "invoke-rc.d"), 0o755)
        self.brokers = []
        # Cleanups run last-in first-out: brokers stop before the purge.
        self.addCleanup(self.purge_if_installed)
        self.addCleanup(self.stop_brokers)

    # --- helpers ------------------------------------------------------------

    def step(self, text):
        print("\n=== %s" % text, flush=True)

    def apt(self, *args):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        # apt runs dpkg, and so the maintainer scripts, with DPkg::Path as PATH.
        proc = subprocess.run(["apt-get", "--yes", "-o", "DPkg::Lock::Timeout=120",
                               "-o", "DPkg::Path=%s:%s" % (self.shim, DPKG_PATH)] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=600)
        out = proc.stdout + proc.stderr
        print("\n".join(l for l in out.splitlines() if "Reading database" not in l), flush=True)
        self.assertEqual(proc.returncode, 0, "apt-get %s failed" % " ".join(args))
        return out

    def restart_calls(self):
        """invoke-rc.d calls since the last look."""
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            calls = f.read().splitlines()
        os.remove(self.calls)
        return calls

    def start_broker(self):
        """mosquitto as `systemctl start mosquitto` would run it."""
        service = systemd_unit.Service()
        self.assertIn(debs.DROPIN, service.files)
        log_offset = os.path.getsize(BROKER_LOG) if os.path.exists(BROKER_LOG) else 0
        proc = service.start(os.path.join(self.tmp, "broker.out"))
        self.brokers.append(proc)

        def ready():
            return proc.poll() is not None or port_in_use(MQTT_PORT)
        systemd_unit.wait_for(ready, 30, "the broker listening on port %d" % MQTT_PORT)
        if proc.poll() is not None:
            self.fail("the broker exited with status %d:\n%s" % (proc.returncode, self.broker_log(log_offset)))
        return service, proc

    def broker_log(self, offset=0):
        text = ""
        for path in (BROKER_LOG, os.path.join(self.tmp, "broker.out")):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    f.seek(offset if path == BROKER_LOG else 0)
                    text += "--- %s\n%s" % (path, f.read()[-4000:])
        return text

    def stop_brokers(self):
        for proc in self.brokers:
            systemd_unit.stop(proc)
        self.brokers = []

    def purge_if_installed(self):
        if debs.dpkg_status() is not None:
            env = dict(os.environ, PATH="%s:%s" % (self.shim, DPKG_PATH))
            subprocess.run(["dpkg", "--purge", debs.PACKAGE], env=env, stdin=subprocess.DEVNULL, timeout=300)

    def restore_broker_db(self):
        if self.broker_db_backup:
            shutil.copy2(self.broker_db_backup, BROKER_DB)
        elif os.path.exists(BROKER_DB):
            os.remove(BROKER_DB)

    def assert_shadow(self, version, reported):
        result, doc = shadow_request(THING, "get", "")
        self.assertEqual(result, "accepted", doc)
        self.assertEqual(doc["version"], version, doc)
        self.assertEqual(doc["state"]["reported"], reported, doc)

    def assert_owned_by_mosquitto(self, path):
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (self.mosquitto_uid, self.mosquitto_gid), path)

    # --- the test -------------------------------------------------------------

    def test_install_run_upgrade_remove_purge(self):
        v1, v2 = debs.version(1), debs.version(2)

        self.step("1. apt-get install %s" % self.deb1)
        out = self.apt("install", self.deb1)
        self.assertEqual(debs.dpkg_status(), "install ok installed")
        self.assertEqual(debs.output("dpkg-query", "-W", "-f=${Version}", debs.PACKAGE), v1)
        for path in (debs.PLUGIN, debs.SHADOWCTL, debs.SNIPPET, debs.DROPIN, debs.MAN_PAGE,
                     debs.DOC_DIR + "/docs/debian-package.md"):
            self.assertTrue(os.path.isfile(path), path)
        self.assertEqual(self.restart_calls(), [], "a first install must not restart the broker")
        self.assertIn("systemctl restart mosquitto", out)
        self.assert_owned_by_mosquitto(debs.DATA_DIR)
        self.assertEqual(stat.S_IMODE(os.stat(debs.DATA_DIR).st_mode), 0o750)
        self.assertIn("Usage: shadowctl", debs.output(debs.SHADOWCTL, "--help"))
        # systemd's own parser reads the unit with the drop-in (no running
        # systemd needed); it reports a bad setting on stderr.
        if shutil.which("systemd-analyze"):
            verify = subprocess.run(["systemd-analyze", "verify", "mosquitto.service"],
                                    capture_output=True, text=True, timeout=120)
            self.assertNotIn("mosquitto-shadow.conf", verify.stdout + verify.stderr)
        else:
            print("systemd-analyze is not installed: the drop-in's syntax is not checked by systemd")

        self.step("2. the broker, started as mosquitto.service starts it")
        service, broker = self.start_broker()
        limit, why = service.nofile_to_apply()
        print("descriptor limit: " + why, flush=True)
        command, expected = documented_check()
        check = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
        print("$ %s\n%s%s" % (command, check.stdout, check.stderr), flush=True)
        self.assertEqual(check.returncode, 0)
        self.assertIsNotNone(expected.fullmatch(check.stdout.strip()), "not the output docs/debian-package.md shows")
        result, doc = shadow_request(THING, "update", json.dumps({"state": {"reported": {"package": v1}}}))
        self.assertEqual((result, doc.get("version")), ("accepted", 1), doc)
        self.assert_shadow(1, {"package": v1})
        self.assertEqual(systemd_unit.process_uids(broker.pid), (self.mosquitto_uid, self.mosquitto_uid))
        self.assertEqual(systemd_unit.process_limit_nofile(broker.pid), limit)
        self.assertGreater(limit[0], 1024, "the drop-in must lift the limit above Debian's default")
        self.assert_owned_by_mosquitto(os.path.join(debs.DATA_DIR, "CURRENT"))

        self.step("3. a local edit of the conffile, then the upgrade to %s with the broker running" % v2)
        http_port = free_port()
        edit = ("\n# Local edit by the package test: the REST API.\n"
                "plugin_opt_http_listen 127.0.0.1:%d\nplugin_opt_http_auth none\n" % http_port)
        with open(debs.SNIPPET, "a") as f:
            f.write(edit)
        self.apt("install", self.deb2)
        self.assertEqual(debs.output("dpkg-query", "-W", "-f=${Version}", debs.PACKAGE), v2)
        self.assertEqual(self.restart_calls(), ["mosquitto try-restart"],
                         "an upgrade restarts the broker if, and only if, it runs")
        with open(debs.SNIPPET) as f:
            self.assertTrue(f.read().endswith(edit), "the upgrade lost the local edit of the conffile")
        for leftover in (".dpkg-dist", ".dpkg-new", ".dpkg-old"):
            self.assertFalse(os.path.exists(debs.SNIPPET + leftover), leftover)
        # What try-restart does under systemd.
        self.stop_brokers()
        self.start_broker()
        self.assert_shadow(1, {"package": v1})
        ctl = subprocess.run([debs.SHADOWCTL, "--no-auth", "--json", "-e", "http://127.0.0.1:%d" % http_port,
                              "get", THING], capture_output=True, text=True, timeout=60)
        self.assertEqual(ctl.returncode, 0, ctl.stderr)
        doc = json.loads(ctl.stdout)
        self.assertEqual((doc["version"], doc["state"]["reported"]), (1, {"package": v1}), doc)
        result, doc = shadow_request(THING, "update", json.dumps({"state": {"reported": {"package": v2}}}))
        self.assertEqual((result, doc.get("version")), ("accepted", 2), doc)
        self.stop_brokers()

        self.step("4. apt-get remove: programs go, configuration and shadows stay")
        out = self.apt("remove", debs.PACKAGE)
        self.assertEqual(self.restart_calls(), [])
        self.assertEqual(debs.dpkg_status(), "deinstall ok config-files")
        for path in (debs.PLUGIN, debs.SHADOWCTL, debs.DROPIN, debs.MAN_PAGE, debs.DOC_DIR):
            self.assertFalse(os.path.exists(path), path)
        with open(debs.SNIPPET) as f:
            self.assertTrue(f.read().endswith(edit))
        self.assertTrue(os.path.isfile(os.path.join(debs.DATA_DIR, "CURRENT")))
        self.assertIn("still loads the removed plugin", out)
        # The kept shadows are the live ones again after a reinstall.
        self.apt("install", self.deb2)
        self.assertEqual(self.restart_calls(), ["mosquitto try-restart"])
        self.start_broker()
        self.assert_shadow(2, {"package": v2})
        self.stop_brokers()

        self.step("5. apt-get purge: configuration and shadows go")
        self.apt("remove", debs.PACKAGE)
        out = self.apt("purge", debs.PACKAGE)
        self.assertEqual(self.restart_calls(), [])
        self.assertIsNone(debs.dpkg_status())
        self.assertFalse(os.path.exists(debs.SNIPPET))
        self.assertFalse(os.path.exists(debs.DATA_DIR))
        self.assertIn("deleted the shadow database", out)
        self.assertEqual(debs.dpkg_status("mosquitto"), "install ok installed")
        self.assertEqual(tree_snapshot("/etc/mosquitto"), self.etc_before)
        dropins = sorted(os.listdir(os.path.dirname(debs.DROPIN))) if os.path.isdir(
            os.path.dirname(debs.DROPIN)) else None
        self.assertEqual(dropins, self.dropins_before)


if __name__ == "__main__":
    unittest.main()
