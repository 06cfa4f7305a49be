"""A burst of QoS 1 updates to kill the broker in the middle of: publishers
that keep a window of requests in flight, each the only writer of its
things, and record every acknowledgement in arrival order."""

import threading

from shadowtest.mqtt import Client, prefix


class AckCount:
    """Accepted updates counted across publishers, for waiting on a total."""

    def __init__(self):
        self._cond = threading.Condition()
        self.count = 0

    def add(self):
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, total, timeout):
        """Whether `total` acknowledgements arrived within `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= total, timeout)


class BurstPublisher(threading.Thread):
    """Publisher `index` owns `things_each` things named <name>-<index>-<j>
    and sends them updates {"seq": n, "w": index, "pad": pad} in turn, with
    `window` requests in flight, until stopped, disconnected or at
    `max_updates`. One writer per thing and in-order delivery make each
    thing's seq grow with its version.

    acked: thing -> [(version, seq)] of its update/accepted, in arrival order
    rejected: every update/rejected document
    sent: how many updates went out"""

    def __init__(self, broker, index, name, acks, things_each=2, window=8, max_updates=20000, pad=""):
        super().__init__(daemon=True)
        self.index = index
        self.things = ["%s-%d-%d" % (name, index, j) for j in range(things_each)]
        self.acked = {t: [] for t in self.things}
        self.rejected = []
        self.sent = 0
        self.stop = threading.Event()
        self._acks = acks
        self._max_updates = max_updates
        self._pad = pad
        self._window = threading.Semaphore(window)
        self._lock = threading.Lock()
        self.client = Client(broker.port, "%s%d" % (name, index), on_message=self._on_message)
        topics = []
        for t in self.things:
            topics += [prefix(t) + "/update/accepted", prefix(t) + "/update/rejected"]
        self.client.subscribe(*topics)

    def _on_message(self, m):
        doc = m.json()
        with self._lock:
            if m.topic.endswith("/rejected"):
                self.rejected.append(doc)
            else:
                self.acked[m.topic.split("/")[2]].append((doc["version"], doc["state"]["reported"]["seq"]))
        if m.topic.endswith("/accepted"):
            self._acks.add()
        self._window.release()

    def run(self):
        for seq in range(self._max_updates):
            # After a kill no more answers come: this bounded wait ends the loop.
            while not self._window.acquire(timeout=0.5):
                if self.stop.is_set() or self.client.disconnected:
                    return
            if self.stop.is_set() or self.client.disconnected:
                return
            thing = self.things[seq % len(self.things)]
            payload = {"state": {"reported": {"seq": seq, "w": self.index, "pad": self._pad}},
                       "clientToken": "w%d-%d" % (self.index, seq)}
            self.client.publish(prefix(thing) + "/update", payload, wait=False)
            self.sent += 1

    def finish(self, timeout=10):
        """Stops and joins the thread; returns whether it ended."""
        self.stop.set()
        self.join(timeout)
        return not self.is_alive()
