"""The Docker engine for docker.e2e (test_e2e.py): use the one that runs, or
start Debian's dockerd (docker.io) and, when done, stop it and undo what it
changed on the host: its bridges, its iptables rules and the IP forwarding
switch. Tools that are missing are installed with scripts/install-deps.sh
--docker only on CI (CI=true) or when SHADOW_DOCKER_E2E=1 asks for it.

Engine.start() returns None when an engine answers, else the reason to skip.
"""

import os
import shutil
import signal
import subprocess
import time

from shadowtest import REPO

TOOLS = ("docker", "docker-compose", "debootstrap", "dockerd")
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 60
FORWARD_SYSCTL = "/proc/sys/net/ipv4/ip_forward"


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def engine_answers():
    try:
        return run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def links():
    r = run(["ip", "-o", "link", "show"])
    return {line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines() if ":" in line}


def iptables_tables(save_cmd):
    """{table: text} of iptables-save (comments and counters left out), or
    None when the command is missing."""
    if shutil.which(save_cmd) is None:
        return None
    out = run([save_cmd]).stdout
    tables, name, lines = {}, None, []
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("*"):
            name, lines = line[1:], [line]
        elif line == "COMMIT":
            lines.append(line)
            tables[name] = "\n".join(lines) + "\n"
            name = None
        elif name is not None:
            lines.append(line.split(" [")[0] if line.startswith(":") else line)
    return tables


class Engine:

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.proc = None
        self.notes = []

    def say(self, text):
        print("engine: " + text, flush=True)

    def start(self):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            reason = self.install(missing)
            if reason:
                return reason
        if engine_answers():
            self.say("using the Docker engine that runs already (left running afterwards)")
            return None
        if os.geteuid() != 0:
            return "no Docker engine answers, and starting dockerd needs root"
        self.before_links = links()
        self.before_iptables = {c: iptables_tables(c) for c in ("iptables-save", "ip6tables-save")}
        with open(FORWARD_SYSCTL) as f:
            self.before_forward = f.read().strip()
        log_path = os.path.join(self.log_dir, "dockerd.log")
        self.say("starting dockerd (log: %s)" % log_path)
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if engine_answers():
                self.say("dockerd %d answers" % self.proc.pid)
                return None
            time.sleep(1)
        tail = ""
        with open(log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-5:]).strip()
        self.stop()
        return "dockerd did not start within %d s: %s" % (START_TIMEOUT_S, tail or "(empty log)")

    def install(self, missing):
        allowed = os.environ.get("CI") == "true" or os.environ.get("SHADOW_DOCKER_E2E") == "1"
        if not allowed:
            return ("%s not installed: run scripts/install-deps.sh --docker (as root), or set "
                    "SHADOW_DOCKER_E2E=1 to let this test do it" % ", ".join(missing))
        if os.geteuid() != 0:
            return "%s not installed, and installing needs root" % ", ".join(missing)
        self.say("installing %s with scripts/install-deps.sh --docker" % ", ".join(missing))
        script = os.path.join(REPO, "scripts", "install-deps.sh")
        try:
            r = run([script, "--docker"], timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return "scripts/install-deps.sh --docker took longer than %d s" % INSTALL_TIMEOUT_S
        if r.returncode != 0:
            return "scripts/install-deps.sh --docker failed: %s" % (r.stdout + r.stderr).strip()[-500:]
        still = [t for t in TOOLS if shutil.which(t) is None]
        return "still missing after install-deps.sh: %s" % ", ".join(still) if still else None

    def stop(self):
        """Stops the dockerd this object started and puts the host back:
        bridges deleted, iptables tables as they were, IP forwarding as it
        was. Returns what could not be undone (empty when all was)."""
        if self.proc is None:
            return []
        problems = []
        if self.proc.poll() is None:
            self.say("stopping dockerd %d" % self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                problems.append("dockerd ignored SIGTERM for %d s; killed" % STOP_TIMEOUT_S)
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        for name in sorted(links() - self.before_links):
            r = run(["ip", "link", "delete", name])
            if r.returncode != 0 and name in links():
                problems.append("could not delete link %s: %s" % (name, r.stderr.strip()))
        for save_cmd, before in self.before_iptables.items():
            problems += self.restore_iptables(save_cmd, before)
        with open(FORWARD_SYSCTL, "w") as f:
            f.write(self.before_forward + "\n")
        self.say("host network state restored (links, iptables, ip_forward=%s)" % self.before_forward)
        self.proc = None
        return problems

    def restore_iptables(self, save_cmd, before):
        base = save_cmd[:-len("-save")]
        after = iptables_tables(save_cmd)
        if after is None or after == (before or {}):
            return []
        before = before or {}
        for table, text in after.items():
            if text == before.get(table):
                continue
            if table in before:
                r = run([base + "-restore"], input=before[table])
            else:
                # A table that did not exist: emptied, default policies. (An
                # empty table accepts everything, as no table does.)
                script = "*%s\n" % table
                for line in text.splitlines():
                    if line.startswith(":") and line.split()[1] != "-":
                        script += "%s ACCEPT\n" % line.split()[0]
                script += "COMMIT\n"
                r = run([base + "-restore"], input=script)
                # User chains (DOCKER, ...) are dropped by the restore.
            if r.returncode != 0:
                return ["%s-restore of table %s failed: %s" % (base, table, r.stderr.strip())]
        return []
