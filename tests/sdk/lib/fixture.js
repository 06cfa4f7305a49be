// One broker per test file, registered as root hooks. When a test fails the
// broker log tail is printed and the temp dir (certs, config, db, log) is
// kept, so the failure can be read from the broker's side too.
'use strict';

const { before, after, afterEach } = require('node:test');
const { Broker } = require('./broker');

// Returns a holder whose .broker is set once the broker runs.
// onStart(broker) / onStop(): optional async functions run right after the
// broker started and before it is stopped, for clients shared by the whole
// file. (They must not be separate root before() hooks: Node 20 starts root
// hooks as soon as they are registered, so they would race the broker.)
function useBroker(options, { onStart, onStop } = {}) {
  const holder = { broker: null };
  const failed = [];

  before(async () => {
    holder.broker = await new Broker(options).start();
    if (onStart) await onStart(holder.broker);
  });

  afterEach((t) => {
    if (t.passed === false) failed.push(t.fullName || t.name);
  });

  after(async () => {
    const broker = holder.broker;
    try {
      if (onStop) await onStop();
    } finally {
      if (broker) {
        await broker.stop();
        if (failed.length > 0) {
          process.stderr.write(`\n${failed.length} failed (${failed.join('; ')}); broker log tail:\n` +
            `${broker.logTail(60)}\nbroker files kept in ${broker.dir}\n`);
        } else {
          broker.cleanup();
        }
      }
    }
  });

  return holder;
}

module.exports = { useBroker };
