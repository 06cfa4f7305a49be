"""Durable mode (plugin_opt_sync_writes true): a broker that also writes the
debug_sync_log trace, and the check that no acknowledgement left the broker
before the fsync covering it.

The trace file (plugin/runtime/group_commit.h, SyncTrace) has one line per
event, with CLOCK_MONOTONIC nanoseconds, written under one lock in time order:
    sync <durable_seq> <ns>          after an fsync, before durable is raised
    ack <tag> <ns> <topic>           before an entry's first publication
    fail <tag> <ns> <topic>          an entry answered 500 after a failed fsync
"""

import os

from shadowtest.broker import Broker

# Exit statuses of a durable-mode broker the tests stop (0) or kill (-9)
# themselves: not worth a log dump.
EXPECTED_EXITS = (None, 0, -9)


def durable_broker(broker_class=Broker, **kwargs):
    """A broker (not started) in durable mode, tracing to `trace_path`
    (<its dir>/sync.log)."""
    b = broker_class(**kwargs)
    b.trace_path = os.path.join(b.dir, "sync.log")
    b.options["sync_writes"] = "true"
    b.options["debug_sync_log"] = b.trace_path
    return b


class Trace:
    def __init__(self, path):
        self.syncs = []   # (durable_seq, ns)
        self.acks = []    # (tag, ns, topic)
        self.fails = []
        self.events = []  # (ns, kind, seq, topic) in file order
        with open(path) as f:
            for line in f:
                parts = line.split()
                kind, seq, ns = parts[0], int(parts[1]), int(parts[2])
                topic = parts[3] if len(parts) > 3 else ""
                self.events.append((ns, kind, seq, topic))
                if kind == "sync":
                    self.syncs.append((seq, ns))
                elif kind == "ack":
                    self.acks.append((seq, ns, topic))
                elif kind == "fail":
                    self.fails.append((seq, ns, topic))
                else:
                    raise AssertionError("unknown trace line %r" % line)

    def acks_on(self, suffix):
        return [a for a in self.acks if a[2].endswith(suffix)]


def assert_no_ack_before_its_sync(test, trace):
    """Every ack's tag is <= the durable sequence of a sync logged before it,
    and durable sequences only grow."""
    test.assertTrue(trace.syncs, "no sync was traced")
    test.assertTrue(trace.acks, "no ack was traced")
    durable = [s for s, _ in trace.syncs]
    test.assertEqual(durable, sorted(durable), "durable sequence went backwards")
    ordered = sorted(trace.events, key=lambda e: e[0])
    test.assertEqual([e[0] for e in trace.events], [e[0] for e in ordered],
                     "trace lines are not in time order")
    durable_so_far = -1
    for ns, kind, seq, topic in ordered:
        if kind == "sync":
            durable_so_far = max(durable_so_far, seq)
        elif kind == "ack":
            test.assertLessEqual(
                seq, durable_so_far,
                "ack of %s (tag %d) at %d ns before any sync covering it (durable %d)"
                % (topic, seq, ns, durable_so_far))
