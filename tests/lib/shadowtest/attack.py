"""Hostile HTTP clients for the REST server's hardening tests and for
tests/rest/attack_bench.py: a request head that never ends, connections that
send one byte now and then, a /healthz probe, and the broker's resident
memory read from /proc. Every loop is bounded in bytes and time; clients
only connect to loopback addresses (127.0.0.0/8), using several source
addresses to look like several clients."""

import select
import socket
import threading
import time

# The head of every hostile request: a real start line, so the server's
# limits on header fields (not only on the request line) are exercised.
FLOOD_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
LINE_BYTES = 8000


def rss_bytes(pid):
    """VmRSS of process `pid`, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


class RssSampler:
    """Samples a process's RSS every `interval_s` on a thread while in the
    `with` block: `before`, `peak` and `after` (after = at exit)."""

    def __init__(self, pid, interval_s=0.05):
        self.pid = pid
        self.interval_s = interval_s
        self.before = self.peak = self.after = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self):
        self.before = self.peak = rss_bytes(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.after = rss_bytes(self.pid)
        self.peak = max(self.peak, self.after)
        return False


class FloodResult:
    def __init__(self, mode):
        self.mode = mode
        self.sent = 0          # bytes sent
        self.outcome = None    # "closed": the server closed or reset it;
                               # "stalled": it stopped reading for 5 s;
                               # "unbounded": it took the whole budget
        self.status = None     # the answer's status code, if one was read

    def __repr__(self):
        return "FloodResult(%s, sent=%d, %s, status=%r)" % (self.mode, self.sent, self.outcome,
                                                             self.status)


def read_status(sock, timeout_s=5.0):
    """The status code of a response already on its way, or None."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit():
        return int(parts[1])
    return None


def flood_head(port, mode, budget_bytes, time_limit_s, source="127.0.0.1"):
    """One connection sending an endless request head: `mode` "lines" sends
    8,000-byte header lines, "oneline" one header line without a line break.
    Stops when the server cuts it off, at `budget_bytes` or after
    `time_limit_s`. Returns a FloodResult."""
    result = FloodResult(mode)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    try:
        if mode == "lines":
            chunk = b"X-Flood: " + b"a" * (LINE_BYTES - 11) + b"\r\n"
            first = FLOOD_START
        else:
            chunk = b"a" * 65536
            first = FLOOD_START + b"X-Flood: "
        deadline = time.monotonic() + time_limit_s
        try:
            sock.sendall(first)
            while result.sent < budget_bytes and time.monotonic() < deadline:
                sock.sendall(chunk)
                result.sent += len(chunk)
            result.outcome = "unbounded"
        except socket.timeout:
            result.outcome = "stalled"
        except OSError:
            result.outcome = "closed"
        result.status = read_status(sock)
    finally:
        sock.close()
    return result


def head_flood(port, connections, budget_bytes, time_limit_s):
    """`connections` flooding connections at once, half in each mode.
    Returns their FloodResults."""
    results = [None] * connections

    def run(i):
        mode = "lines" if i % 2 == 0 else "oneline"
        results[i] = flood_head(port, mode, budget_bytes, time_limit_s)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=time_limit_s + 30)
    return results


def source_addresses(count):
    """`count` loopback source addresses, 127.0.0.2 and up: other clients
    than the probes, which come from 127.0.0.1."""
    return ["127.0.0.%d" % (2 + i) for i in range(count)]


class SlowClients:
    """`count` connections spread over `sources`, each sending one byte of a
    request head every `interval_s` (the head never ends), until the `with`
    block is left. Counts what the server did with them:

    opened    connections that connected
    refused   answered 503 or closed before the first byte was dribbled
    closed    closed by the server later (e.g. its head deadline)
    """

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def __init__(self, port, count, sources, interval_s=1.5):
        self.port = port
        self.count = count
        self.sources = list(sources)
        self.interval_s = interval_s
        self.opened = self.refused = self.closed = 0
        self._socks = {}  # socket -> bytes sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def open_now(self):
        with self._lock:
            return len(self._socks)

    def wait_open(self, n, timeout_s):
        """Whether, within `timeout_s`, exactly `n` connections are left open
        (refusals and closes are noticed once per interval)."""
        deadline = time.monotonic() + timeout_s
        while self.open_now() != n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def __enter__(self):
        for i in range(self.count):
            source = self.sources[i % len(self.sources)]
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5,
                                             source_address=(source, 0))
            except OSError:
                self.refused += 1
                continue
            s.setblocking(False)
            self.opened += 1
            self._socks[s] = 0
        self._drop_answered(first_round=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 10)
        with self._lock:
            for s in self._socks:
                s.close()
            self._socks.clear()
        return False

    def _byte(self, sent):
        return self.HEAD[sent:sent + 1] if sent < len(self.HEAD) else b"a"

    def _drop_answered(self, first_round=False):
        """Removes the connections the server answered or closed."""
        with self._lock:
            socks = list(self._socks)
        if not socks:
            return
        # poll, not select: select() cannot watch descriptors above 1023.
        poller = select.poll()
        by_fd = {s.fileno(): s for s in socks}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        ready = poller.poll(200 if first_round else 0)
        for fd, _ in ready:
            s = by_fd[fd]
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            refused = data.startswith(b"HTTP/1.1 503") or (first_round and self._socks[s] == 0)
            with self._lock:
                del self._socks[s]
            s.close()
            if refused:
                self.refused += 1
            else:
                self.closed += 1

    def _run(self):
        while not self._stop.wait(self.interval_s):
            self._drop_answered()
            with self._lock:
                socks = list(self._socks.items())
            for s, sent in socks:
                try:
                    s.send(self._byte(sent))
                except OSError:
                    continue  # seen as readable (closed) on the next round
                with self._lock:
                    if s in self._socks:
                        self._socks[s] = sent + 1


def healthz(port, source="127.0.0.1", timeout_s=10.0):
    """GET /healthz on a fresh connection: (status, seconds), or (None,
    None) without a complete answer within `timeout_s`."""
    started = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s,
                                     source_address=(source, 0))
    except OSError:
        return None, None
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        deadline = started + timeout_s
        while not data.endswith(b'{"status":"ok"}'):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None
            s.settimeout(remaining)
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        return None, None
    finally:
        s.close()
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    return int(parts[1]), time.monotonic() - started
