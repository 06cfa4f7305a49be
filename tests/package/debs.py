"""The two packages package.build made, and small helpers of the package tests."""

import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEB_DIR = os.environ.get("SHADOW_DEB_DIR", "")
PROJECT_VERSION = os.environ.get("SHADOW_PROJECT_VERSION", "")

PACKAGE = "mosquitto-shadow"
SNIPPET = "/etc/mosquitto/conf.d/mosquitto-shadow.conf"
DROPIN = "/lib/systemd/system/mosquitto.service.d/mosquitto-shadow.conf"
DATA_DIR = "/var/lib/mosquitto-shadow"
DOC_DIR = "/usr/share/doc/mosquitto-shadow"
SHADOWCTL = "/usr/bin/shadowctl"
MAN_PAGE = "/usr/share/man/man1/shadowctl.1.gz"


def output(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120, **kwargs).stdout


ARCH = output("dpkg-architecture", "-qDEB_HOST_ARCH").strip()
MULTIARCH = output("dpkg-architecture", "-qDEB_HOST_MULTIARCH").strip()
PLUGIN = "/usr/lib/%s/mosquitto-shadow/mosquitto_shadow.so" % MULTIARCH


def version(revision):
    return "%s-%d" % (PROJECT_VERSION, revision)


def deb(revision):
    """Path of the package of the given Debian revision (1, or 2 for the upgrade)."""
    if not DEB_DIR or not PROJECT_VERSION:
        raise RuntimeError("SHADOW_DEB_DIR and SHADOW_PROJECT_VERSION are not set: run through ctest "
                           "(ctest -L package), which builds the packages first")
    path = os.path.join(DEB_DIR, "%s_%s_%s.deb" % (PACKAGE, version(revision), ARCH))
    if not os.path.isfile(path):
        raise RuntimeError("%s is missing: package.build did not make it" % path)
    return path


def field(deb_path, name):
    return output("dpkg-deb", "--field", deb_path, name).strip()


def dpkg_status(package=PACKAGE):
    """dpkg's status of a package ('install ok installed', ...), or None if dpkg does not know it."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                          timeout=60)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def mosquitto_dev_upstream():
    """Upstream version of the broker headers the plugin was built with (2.0.11)."""
    full = output("dpkg-query", "-W", "-f=${Version}", "mosquitto-dev").strip()
    return full.split(":", 1)[-1].rsplit("-", 1)[0]
