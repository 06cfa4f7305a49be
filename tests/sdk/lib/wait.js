// Bounded waiting: every wait in these tests ends with a value or a timeout.
'use strict';

// Rejects with a message naming `what` if `promise` has not settled in `ms`.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Collects events (anything) as they arrive; next() hands out the first one
// that matches, waiting for it if needed. Unmatched events stay queued, so the
// order of arrival across kinds (accepted / delta / documents) does not matter.
class EventQueue {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const i = this.waiters.findIndex((w) => w.match(item));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(item);
      return;
    }
    this.items.push(item);
  }

  next(match = () => true, ms = 5000, what = 'an event') {
    const i = this.items.findIndex(match);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = { match, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `${what} on ${this.name}`).catch((e) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw e;
    });
  }

  // Items that arrived and were never taken (for "nothing else came" checks).
  pending(match = () => true) {
    return this.items.filter(match);
  }

  clear() {
    this.items = [];
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { withTimeout, EventQueue, sleep };
