"""The Debian packages as files: what they hold, their control fields,
lintian, and apt's verdict on brokers of other series. Installs nothing."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import debs
from debs import deb, field


class PackageContents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = deb(1)
        cls.tmp = tempfile.TemporaryDirectory(prefix="shadow-deb-")
        cls.root = os.path.join(cls.tmp.name, "root")
        debs.output("dpkg-deb", "--extract", cls.deb, cls.root)
        cls.control = os.path.join(cls.tmp.name, "DEBIAN")
        debs.output("dpkg-deb", "--control", cls.deb, cls.control)
        # `dpkg-deb --contents` lists mode, owner and path of every entry.
        cls.entries = {}
        for line in debs.output("dpkg-deb", "--contents", cls.deb).splitlines():
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            cls.entries["/" + path.lstrip("./").rstrip("/")] = (mode, owner)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def files(self):
        return {p: m for p, (m, _) in self.entries.items() if not m.startswith("d")}

    def test_files_are_where_debian_puts_them(self):
        docs = {"%s/docs/%s" % (debs.DOC_DIR, name)
                for name in os.listdir(os.path.join(debs.REPO, "docs")) if name.endswith(".md")}
        expected = {
            debs.PLUGIN: "-rw-r--r--",
            debs.SHADOWCTL: "-rwxr-xr-x",
            debs.SNIPPET: "-rw-r--r--",
            debs.DROPIN: "-rw-r--r--",
            debs.MAN_PAGE: "-rw-r--r--",
            debs.DOC_DIR + "/README.md": "-rw-r--r--",
            debs.DOC_DIR + "/copyright": "-rw-r--r--",
            debs.DOC_DIR + "/changelog.Debian.gz": "-rw-r--r--",
            "/usr/share/lintian/overrides/mosquitto-shadow": "-rw-r--r--",
        }
        expected.update({d: "-rw-r--r--" for d in docs})
        self.assertIn(debs.DOC_DIR + "/docs/debian-package.md", docs)
        self.assertEqual(self.files(), expected)
        for path, (mode, owner) in self.entries.items():
            self.assertEqual(owner, "root/root", path)
            if mode.startswith("d"):
                self.assertEqual(mode, "drwxr-xr-x", path)
        # The data directory is made by postinst for the mosquitto user, not
        # shipped (dpkg would own it as root).
        self.assertNotIn(debs.DATA_DIR, self.entries)

    def test_binaries_are_stripped_and_hardened(self):
        for path in (debs.PLUGIN, debs.SHADOWCTL):
            sections = debs.output("readelf", "--section-headers", "--wide", self.root + path)
            self.assertNotIn(".debug_info", sections, path)
            self.assertNotIn(".symtab", sections, path)
            dynamic = debs.output("readelf", "--dynamic", "--wide", self.root + path)
            self.assertRegex(dynamic, r"\(FLAGS\)\s+BIND_NOW", "%s: not linked with -z now" % path)
            segments = debs.output("readelf", "--program-headers", "--wide", self.root + path)
            self.assertIn("GNU_RELRO", segments, path)

    def test_version_is_the_project_version_and_a_revision(self):
        self.assertRegex(debs.PROJECT_VERSION, r"^\d+\.\d+\.\d+$")
        with open(os.path.join(debs.REPO, "CMakeLists.txt")) as f:
            self.assertIn("project(mosquitto_shadow VERSION %s " % debs.PROJECT_VERSION, f.read())
        self.assertEqual(field(self.deb, "Version"), debs.version(1))
        self.assertEqual(field(deb(2), "Version"), debs.version(2))
        self.assertEqual(subprocess.run(["dpkg", "--compare-versions", debs.version(2), "gt", debs.version(1)],
                                        timeout=30).returncode, 0)
        self.assertEqual(field(self.deb, "Package"), "mosquitto-shadow")
        self.assertEqual(field(self.deb, "Architecture"), debs.ARCH)

    def test_depends_on_the_broker_series_and_the_libraries(self):
        depends = [d.strip() for d in field(self.deb, "Depends").split(",")]
        built_with = debs.mosquitto_dev_upstream()
        major, minor = built_with.split(".")[:2]
        self.assertEqual(depends[:2], ["mosquitto (>= %s)" % built_with,
                                       "mosquitto (<< %s.%d~)" % (major, int(minor) + 1)])
        names = {d.split()[0] for d in depends}
        # What the plugin and shadowctl link, as dpkg-shlibdeps found it.
        for library in ("libc6", "libstdc++6", "librocksdb7.8", "libssl3", "libmosquitto1",
                        "libcpp-httplib0.11"):
            self.assertIn(library, names)
        for d in depends[2:]:
            self.assertRegex(d, r"^[a-z0-9.+-]+ \(>= [^)]+\)$")

    def test_snippet_is_a_conffile_that_loads_the_packaged_plugin(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            self.assertEqual(f.read().split(), [debs.SNIPPET])
        with open(self.root + debs.SNIPPET) as f:
            lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
        self.assertEqual(lines, ["plugin " + debs.PLUGIN, "plugin_opt_db_path " + debs.DATA_DIR])

    def test_dropin_raises_the_descriptor_limit_and_prepares_the_data_dir(self):
        with open(self.root + debs.DROPIN) as f:
            settings = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        self.assertEqual(settings[0], "[Service]")
        limit = [s for s in settings if s.startswith("LimitNOFILE=")]
        self.assertEqual(len(limit), 1)
        self.assertGreaterEqual(int(limit[0].split("=")[1]), 65536)
        self.assertIn("ExecStartPre=/bin/chown mosquitto:mosquitto %s" % debs.DATA_DIR, settings)

    def test_maintainer_scripts_are_valid_shell(self):
        for script in ("postinst", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            self.assertEqual(subprocess.run(["sh", "-n", path], timeout=30).returncode, 0, script)
        self.assertEqual(sorted(os.listdir(self.control)),
                         ["conffiles", "control", "md5sums", "postinst", "postrm"])

    def test_man_page_documents_every_command(self):
        page = os.path.join(self.root + debs.MAN_PAGE)
        proc = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                              env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"), timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        text = re.sub(r".\x08", "", proc.stdout)
        commands = re.findall(r"(?m)^  ([a-z]+) ", subprocess.run(
            [self.root + debs.SHADOWCTL, "--help"], capture_output=True, text=True, timeout=30).stdout
            .split("Subcommands:")[1].split("\n\n")[0])
        self.assertIn("get", commands)
        for command in commands:
            self.assertIn("shadowctl %s" % command, text)

    def test_lintian_is_clean(self):
        if shutil.which("lintian") is None:
            self.fail("lintian is missing: scripts/install-deps.sh installs it")
        for revision in (1, 2):
            proc = subprocess.run(["lintian", "--display-info", "--pedantic", "--fail-on",
                                   "error,warning,info,pedantic", deb(revision)],
                                  capture_output=True, text=True, timeout=600)
            print(proc.stdout + proc.stderr)
            # spelling-error-in-binary is lintian's guess over the bytes of
            # the binary: machine instructions ("wtH") and strings the linker
            # merged into each other ("cannot be opened" sharing its tail with
            # another message, read as "openened") spell words that are in no
            # source file, and they come and go with every build, so neither a
            # fix nor an override (unused overrides are tags themselves) can
            # hold. A misspelling that is in our own sources still counts.
            tags = [l for l in proc.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)
                    and not spelling_not_in_sources(l)]
            self.assertEqual(tags, [], "lintian tags of %s" % deb(revision))
            if not any("spelling-error-in-binary" in l for l in proc.stdout.splitlines()):
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


def spelling_not_in_sources(tag_line):
    """Whether a lintian line is spelling-error-in-binary for a word that
    none of the compiled sources contains."""
    m = re.match(r"^I: mosquitto-shadow: spelling-error-in-binary (\S+) \S+ \[usr/", tag_line)
    if m is None:
        return False
    word = re.compile(r"\b%s\b" % re.escape(m.group(1)))
    for folder in ("common", "shadow_core", "store", "plugin", "tools"):
        for root, _, files in os.walk(os.path.join(debs.REPO, folder)):
            for name in files:
                if name.endswith((".cc", ".h", ".cpp")):
                    with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                        if word.search(f.read()):
                            return False
    return True


def fake_broker_deb(directory, version):
    """An empty package that claims to be mosquitto VERSION."""
    root = os.path.join(directory, "mosquitto-" + version)
    os.makedirs(os.path.join(root, "DEBIAN"))
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write("Package: mosquitto\nVersion: %s\nArchitecture: %s\nMaintainer: test <test@example.org>\n"
                "Description: stand-in for a broker of another series\n" % (version, debs.ARCH))
    path = root + ".deb"
    debs.output("dpkg-deb", "--root-owner-group", "--build", root, path)
    return path


class BrokerSeries(unittest.TestCase):
    """apt, asked to install the package next to a broker of another series,
    refuses; with the broker this machine has, it agrees. Simulated (-s)."""

    def simulate(self, *debs_to_install):
        proc = subprocess.run(["apt-get", "install", "--simulate", "--allow-downgrades",
                               "-o", "Debug::NoLocking=1"] + list(debs_to_install),
                              capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        return proc.returncode, proc.stdout + proc.stderr

    def test_apt_accepts_the_installed_broker(self):
        rc, out = self.simulate(deb(1))
        self.assertEqual(rc, 0, out)
        self.assertIn("Inst mosquitto-shadow", out)

    def test_apt_refuses_a_newer_and_an_older_series(self):
        with tempfile.TemporaryDirectory(prefix="shadow-fake-broker-") as tmp:
            for broker, unmet in (("2.1.0-1", "mosquitto (< 2.1~)"),
                                  ("1.6.15-1", "mosquitto (>= %s)" % debs.mosquitto_dev_upstream())):
                rc, out = self.simulate(fake_broker_deb(tmp, broker), deb(1))
                self.assertNotEqual(rc, 0, out)
                self.assertIn("mosquitto-shadow : Depends: %s but %s is to be installed" % (unmet, broker),
                              out)


if __name__ == "__main__":
    unittest.main()
