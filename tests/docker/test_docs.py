"""The commands in the user documentation, run as written.

- The README's five-minute tour runs against a broker started with
  scripts/run-broker.sh (on free ports, in a temporary directory): the
  mosquitto_sub watcher, every mosquitto_pub/mosquitto_rr step, shadowctl and
  the examples. Each documented output block must appear in what the commands
  print, line by line in order, with timestamps as the only free values and
  `…` standing for any text.
- Every ```sh block of README.md and docs/getting-started.md is accounted
  for: its commands either run here or are listed in ELSEWHERE with the test
  or CI step that runs them. A new command in those files without either
  fails this test, so the documentation cannot quietly rot.

The mosquitto clients read their default port from $XDG_CONFIG_HOME/<client>
(a documented feature of the clients), so the commands run verbatim; only the
examples get an extra --port and shadowctl a SHADOWCTL_ENDPOINT.
"""

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness

README = os.path.join(harness.REPO, "README.md")
GETTING_STARTED = os.path.join(harness.REPO, "docs", "getting-started.md")
WAIT_S = 15.0

# Commands in ```sh blocks that this file does not run, and what does.
ELSEWHERE = {
    "scripts/install-deps.sh && scripts/build.sh && scripts/run-broker.sh":
        "CI: .ci/run runs scripts/test.sh (install-deps.sh, build.sh); run-broker.sh runs in this file",
    "scripts/test.sh": "CI: .ci/run",
    "docker compose -f docker/compose.yml up -d": "docker.compose (no Docker engine on CI)",
    "npm ci --prefix examples": "scripts/test.sh installs examples/ with npm ci",
    "scripts/build.sh": "CI: scripts/test.sh",
    "scripts/build.sh -DSHADOW_SANITIZE=ON": "scripts/ci-sanitize.sh",
    "SHADOW_BUILD_DIR=build-asan scripts/build.sh -DSHADOW_SANITIZE=ON": "scripts/ci-sanitize.sh",
    "scripts/test.sh -R rocksdb": "CI: scripts/test.sh (ctest arguments pass through)",
    "SHADOW_WERROR=OFF scripts/test.sh": "CI: scripts/test.sh",
    "scripts/run-broker.sh": "this file starts run-broker.sh (on a free port)",
    "docker compose -f docker/compose.yml --profile examples up": "docker.compose",
    "docker compose -f docker/compose.yml ps": "docker.compose",
    "docker compose -f docker/compose.yml down -v": "docker.compose",
    "ctest --test-dir build -R '^docker\\.'": "CI: scripts/test.sh runs every ctest entry",
    "scripts/gen-certs.sh certs sensor-17 sensor-18":
        "docker.stack_broker (through init-certs.sh) and tests/sdk/lib/broker.js run gen-certs.sh OUTDIR DEVICE...",
}


def sh_blocks(path):
    """[(first line number, language, text)] of the fenced blocks of a file."""
    blocks = []
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if m:
            indent, lang = m.groups()
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = "\n".join(l[len(indent):] for l in lines[i + 1:j])
            blocks.append((i + 1, lang, body))
            i = j + 1
        else:
            i += 1
    return blocks


def commands(block_text):
    """The commands of a sh block: comment lines dropped, continuations joined,
    trailing `# comments` removed."""
    out = []
    pending = ""
    for line in block_text.split("\n"):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        text = (pending + line).strip()
        pending = ""
        text = re.sub(r"\s+#\s.*$", "", text)  # `cmd   # explanation`
        out.append(re.sub(r"\s+", " ", text))
    return out


def tour_blocks():
    with open(README) as f:
        text = f.read()
    start = text.index("\n## A five-minute tour")
    end = text.index("\n## ", start + 1)
    first_line = text[:start].count("\n") + 1
    section = [(n, lang, body) for n, lang, body in sh_blocks(README)
               if first_line <= n <= first_line + text[start:end].count("\n")]
    return section


def line_pattern(documented):
    """A regex for one documented output line: timestamps are free, `…` is
    any text, everything else literal."""
    parts = [re.escape(p) for p in documented.split("…")]
    rx = ".*?".join(parts)
    rx = re.sub(r"(?<![0-9])17\d{8}(?![0-9])", r"\\d+", rx)
    return re.compile("^" + rx + "$")


class Lines:
    """Collects the stdout lines of a process on a thread."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def expect(self, documented, timeout=WAIT_S, what="output"):
        """Consumes lines until every documented line matched, in order."""
        deadline = time.monotonic() + timeout
        consumed = []
        for doc in documented:
            pattern = line_pattern(doc)
            while True:
                left = deadline - time.monotonic()
                try:
                    line = self.q.get(timeout=max(left, 0.01))
                except queue.Empty:
                    line = None
                if line is None:
                    raise AssertionError("%s: no line matching the documented\n  %s\nafter:\n  %s"
                                         % (what, doc, "\n  ".join(consumed)))
                consumed.append(line)
                self.seen.append(line)
                if pattern.match(line):
                    break


class ReadmeTour(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="shadow-docker-docs-")
        cls.procs = []
        cls.blocks = tour_blocks()
        run_broker = [c for _, lang, b in cls.blocks if lang == "sh" for c in commands(b)
                      if c.startswith("scripts/run-broker.sh")]
        assert len(run_broker) == 1, run_broker
        cls.start_broker(shlex.split(run_broker[0])[1:])
        # Default port of the mosquitto clients, read from their config files.
        cls.xdg = os.path.join(cls.tmp, "xdg")
        os.makedirs(cls.xdg)
        for client in ("mosquitto_pub", "mosquitto_sub", "mosquitto_rr"):
            with open(os.path.join(cls.xdg, client), "w") as f:
                f.write("-h 127.0.0.1\n-p %d\n" % cls.port)

    @classmethod
    def start_broker(cls, args):
        """scripts/run-broker.sh with the README's arguments, the port and the
        REST port moved to free ones, the data in the temporary directory."""
        build_dir = os.environ.get("SHADOW_BUILD_DIR")
        if not build_dir:
            raise unittest.SkipTest("SHADOW_BUILD_DIR (the CMake build tree) is not set")
        rel_build = os.path.relpath(build_dir, harness.REPO)
        for _attempt in range(3):
            cls.port, cls.http_port = harness.free_ports(2)
            rewritten = [a.replace("127.0.0.1:8080", "127.0.0.1:%d" % cls.http_port) for a in args]
            data = os.path.join(cls.tmp, "data")
            with open(os.path.join(cls.tmp, "broker.log"), "ab") as log:
                cls.broker = subprocess.Popen(
                    [os.path.join(harness.REPO, "scripts", "run-broker.sh"), "--port", str(cls.port),
                     "--data", data] + rewritten,
                    env=dict(os.environ, SHADOW_BUILD_DIR=rel_build), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=log)
            deadline = time.monotonic() + harness.START_TIMEOUT_S
            while time.monotonic() < deadline and cls.broker.poll() is None:
                if harness.listening(cls.port) and harness.listening(cls.http_port):
                    return
                time.sleep(0.05)
            cls.broker.kill()
            cls.broker.wait()
        with open(os.path.join(cls.tmp, "broker.log")) as f:
            raise AssertionError("run-broker.sh did not start:\n" + f.read())

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            # The reader thread closes nothing and ends at EOF; the pipe is
            # released with the Popen object.
        cls.broker.send_signal(signal.SIGTERM)
        try:
            cls.broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.broker.kill()
            cls.broker.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self):
        env = dict(os.environ, XDG_CONFIG_HOME=self.xdg,
                   SHADOWCTL_ENDPOINT="http://127.0.0.1:%d" % self.http_port)
        return env

    def start(self, command):
        """Starts a long-running command (argument list; no shell, so a
        signal reaches the program itself)."""
        p = subprocess.Popen(command, cwd=harness.REPO, env=self.env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        self.procs.append(p)
        return Lines(p)

    def run_command(self, command):
        r = subprocess.run(command, cwd=harness.REPO, env=self.env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "%s\n%s%s" % (command, r.stdout, r.stderr))
        return r.stdout

    def shadowctl(self, command):
        binary = os.environ.get("SHADOWCTL")
        if not binary:
            self.fail("SHADOWCTL (the built shadowctl) is not set; the tour uses it")
        return [binary] + shlex.split(command)[1:]

    def test_the_tour_as_written(self):
        blocks = self.blocks
        watcher = None
        device = None
        i = 0
        while i < len(blocks):
            line, lang, body = blocks[i]
            if lang != "sh":
                i += 1
                continue
            documented = None
            if i + 1 < len(blocks) and blocks[i + 1][1] == "":
                documented = [l for l in blocks[i + 1][2].split("\n") if l.strip()]
            where = "README.md line %d" % line
            out = []
            for cmd in commands(body):
                prog = shlex.split(cmd)[0]
                if prog == "mosquitto_sub":
                    watcher = self.start(shlex.split(cmd))
                    time.sleep(0.5)  # let it subscribe before the first request
                elif prog in ("mosquitto_pub", "mosquitto_rr"):
                    out += self.run_command(shlex.split(cmd)).splitlines()
                elif prog == "build/shadowctl":
                    out += self.run_command(self.shadowctl(cmd)).splitlines()
                elif prog == "node" and "examples/device.js" in cmd:
                    device = self.start(shlex.split(cmd) + ["--port", str(self.port)])
                    device.expect(["[device …] waiting for deltas (Ctrl-C to stop)"], what=where)
                elif prog == "node" and "examples/application.js" in cmd:
                    out += self.run_command(shlex.split(cmd) + ["--port", str(self.port)]).splitlines()
                elif cmd.startswith("scripts/run-broker.sh") or cmd.startswith("npm ci"):
                    pass  # the broker runs with these options; npm ci ran in scripts/test.sh
                else:
                    self.fail("%s: the tour test does not know how to run %r" % (where, cmd))
            if documented is not None:
                if prog == "mosquitto_pub":
                    self.assertIsNotNone(watcher, where)
                    watcher.expect(documented, what=where)
                else:
                    collected = Lines.__new__(Lines)
                    collected.q = queue.Queue()
                    for l in out:
                        collected.q.put(l)
                    collected.q.put(None)
                    collected.seen = []
                    collected.expect(documented, what=where)
                i += 2
            else:
                i += 1
        self.assertIsNotNone(watcher, "the tour starts no mosquitto_sub")
        self.assertIsNotNone(device, "the tour runs no example device")
        # The device followed the application's delta (README: "The device
        # prints the delta it received and its new report").
        device.expect(['[device dev2] delta {"lights":"off"} (version 2)',
                       '[device dev2] reported {"lights":"off"} -> version 3'], what="device")


class EveryCommandIsExercised(unittest.TestCase):

    def test_every_sh_block_is_run_here_or_elsewhere(self):
        tour = {(n, body) for n, lang, body in tour_blocks() if lang == "sh"}
        unaccounted = []
        for path in (README, GETTING_STARTED):
            for n, lang, body in sh_blocks(path):
                if lang != "sh" or (path == README and (n, body) in tour):
                    continue
                for cmd in commands(body):
                    if cmd not in ELSEWHERE and not self.runs_here(path, cmd):
                        unaccounted.append("%s:%d: %s" % (os.path.relpath(path, harness.REPO), n, cmd))
        self.assertEqual(unaccounted, [], "add a test for these commands, or list them in ELSEWHERE")

    def runs_here(self, path, cmd):
        # docs/getting-started.md repeats commands of the README tour, which
        # the tour test runs.
        tour_cmds = {c for _, lang, b in tour_blocks() if lang == "sh" for c in commands(b)}
        return path == GETTING_STARTED and cmd in tour_cmds


if __name__ == "__main__":
    unittest.main()
