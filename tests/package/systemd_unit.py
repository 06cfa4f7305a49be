"""Starts mosquitto the way systemd starts mosquitto.service, without systemd.

CI has no running systemd, so the package test reads Debian's unit file and
every drop-in (the package's among them) and does what systemd would do for
`systemctl start mosquitto`: run each ExecStartPre= as root, then ExecStart=
with the LimitNOFILE= of the unit, a service's PATH and nothing on stdin.

Only the settings of Debian's unit and of our drop-in are understood. Any
other [Service] setting raises UnitError rather than being ignored, so a unit
that starts to rely on one (User=, StateDirectory=, ...) fails the test
instead of being started differently from a real service.
"""

import os
import resource
import shlex
import signal
import subprocess
import time

UNIT = "mosquitto.service"
# Where systemd looks for units and drop-ins, first match wins for a name.
UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]
# Settings that do not change how a started service runs: how systemd
# tracks readiness, reloads and restarts after a crash.
IGNORED = {"Type", "NotifyAccess", "ExecReload", "Restart"}
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class UnitError(Exception):
    pass


def unit_files(unit=UNIT):
    """The unit file and its drop-ins in the order systemd applies them."""
    base = next((os.path.join(d, unit) for d in UNIT_DIRS if os.path.isfile(os.path.join(d, unit))), None)
    if base is None:
        raise UnitError("no %s in %s" % (unit, ", ".join(UNIT_DIRS)))
    dropins = {}
    for d in UNIT_DIRS:
        dropin_dir = os.path.join(d, unit + ".d")
        if os.path.isdir(dropin_dir):
            for name in os.listdir(dropin_dir):
                if name.endswith(".conf"):
                    dropins.setdefault(name, os.path.join(dropin_dir, name))
    return [base] + [dropins[name] for name in sorted(dropins)]


def service_settings(paths):
    """(key, value) pairs of the [Service] sections, in order."""
    settings = []
    for path in paths:
        section = None
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line
                    continue
                if section == "[Service]":
                    key, sep, value = line.partition("=")
                    if not sep:
                        raise UnitError("%s: cannot read %r" % (path, line))
                    settings.append((key.strip(), value.strip()))
    return settings


class Service:
    """What systemd would run: ExecStartPre commands, ExecStart, the limit."""

    def __init__(self, unit=UNIT):
        self.files = unit_files(unit)
        self.exec_start_pre = []
        self.exec_start = None
        self.nofile = None
        for key, value in service_settings(self.files):
            if key == "ExecStartPre":
                # An empty assignment clears the list, as in systemd.
                self.exec_start_pre = self.exec_start_pre + [value] if value else []
            elif key == "ExecStart":
                self.exec_start = value or None
            elif key == "LimitNOFILE":
                self.nofile = parse_limit(value)
            elif key not in IGNORED:
                raise UnitError("%s sets %s=, which tests/package/systemd_unit.py does not emulate"
                                % (unit, key))
        if self.exec_start is None:
            raise UnitError("%s has no ExecStart=" % unit)

    def run_pre(self):
        for line in self.exec_start_pre:
            may_fail = line.startswith("-")
            argv = split_command(line.lstrip("-"))
            proc = subprocess.run(argv, env={"PATH": SERVICE_PATH}, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=30)
            if proc.returncode != 0 and not may_fail:
                raise UnitError("ExecStartPre=%s failed (%d): %s" % (line, proc.returncode, proc.stderr))

    def nofile_to_apply(self):
        """The (soft, hard) descriptor limit the broker gets here, and why.

        systemd raises the hard limit with CAP_SYS_RESOURCE. A container
        without that capability (as this project's CI machines are) cannot
        go above its own hard limit, so the broker then gets that much and
        the reason is returned for the test to print."""
        if self.nofile is None:
            return None, "the unit sets no LimitNOFILE="
        soft, hard = self.nofile
        current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if has_capability(CAP_SYS_RESOURCE) or current_hard == resource.RLIM_INFINITY or (
                hard != resource.RLIM_INFINITY and hard <= current_hard):
            return (soft, hard), "LimitNOFILE=%s:%s as in the unit" % (soft, hard)
        capped = (min(soft, current_hard), current_hard)
        return capped, ("LimitNOFILE=%s:%s capped to %s:%s: this machine lacks CAP_SYS_RESOURCE, "
                        "which raising a hard limit needs" % (soft, hard, capped[0], capped[1]))

    def start(self, log_path):
        """Runs ExecStartPre, then starts ExecStart; returns the Popen."""
        self.run_pre()
        argv = split_command(self.exec_start)
        nofile, _ = self.nofile_to_apply()

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

        with open(log_path, "ab") as log:
            return subprocess.Popen(argv, env={"PATH": SERVICE_PATH}, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, preexec_fn=limits,
                                    start_new_session=True)


CAP_SYS_RESOURCE = 24


def has_capability(bit):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def split_command(line):
    if line[:1] in ("@", "+", "!", ":"):
        raise UnitError("command prefix %r is not emulated: %s" % (line[0], line))
    argv = shlex.split(line)
    if not argv or not os.path.isabs(argv[0]):
        raise UnitError("not an absolute command: %r" % line)
    return argv


def parse_limit(value):
    """LimitNOFILE=soft[:hard] -> (soft, hard)."""
    def one(text):
        return resource.RLIM_INFINITY if text == "infinity" else int(text)
    soft, _, hard = value.partition(":")
    return (one(soft), one(hard or soft))


def stop(proc, timeout_s=20.0):
    """SIGTERM (systemd's default), then SIGKILL; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
    return proc.returncode


def process_limit_nofile(pid):
    """(soft, hard) 'Max open files' of a running process, from /proc."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return (resource.RLIM_INFINITY if soft == "unlimited" else int(soft),
                        resource.RLIM_INFINITY if hard == "unlimited" else int(hard))
    raise UnitError("no 'Max open files' in /proc/%d/limits" % pid)


def process_uids(pid):
    """Real and effective uid of a running process."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                real, effective = line.split()[1:3]
                return int(real), int(effective)
    raise UnitError("no Uid in /proc/%d/status" % pid)


def wait_for(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError("%s: not within %.0f s" % (what, timeout_s))
