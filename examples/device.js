#!/usr/bin/env node
// The demo device of the reference scenario, written only against the stock
// AWS IoT Device SDK v2 for JavaScript (nothing specific to mosquitto-shadow):
//
//  1. it listens for deltas on its classic shadow,
//  2. reports its current state {lights: "on", doors: "locked"},
//  3. and whenever the desired state differs from what it reported (a delta),
//     it "switches" to the desired values and reports them.
//
// It runs until Ctrl-C (SIGINT) or SIGTERM. See examples/README.md.
'use strict';

const {
  parseCommandLine, logger, connect, shadowClient, openStream, rejection, compact, shutdown,
} = require('./lib/common');

const args = parseCommandLine('device', {}, null);
const log = logger(`device ${args.thing_name}`);
const thingName = args.thing_name;

// The device's actual state, which it reports.
const state = { lights: 'on', doors: 'locked' };

let client = null;
let shadow = null;
// Deltas are handled one after the other, so two quick changes never race.
let work = Promise.resolve();

// Applies the desired values of a delta that differ from the local state and
// reports them. A null value means the desired key was removed: the device
// keeps its value.
async function follow(delta, source) {
  const changed = {};
  for (const [key, value] of Object.entries(delta || {})) {
    if (value === null || compact(state[key]) === compact(value)) continue;
    log(`${key}: ${compact(state[key])} -> ${compact(value)}`);
    state[key] = value;
    changed[key] = value;
  }
  if (Object.keys(changed).length === 0) {
    log(`${source} asks for nothing new`);
    return;
  }
  const accepted = await shadow.updateShadow({ thingName, state: { reported: changed } });
  log(`reported ${compact(changed)} -> version ${accepted.version}`);
}

// Runs `task` after every task queued before it; the returned promise
// settles with the task's own outcome.
function queue(task) {
  const result = work.then(task);
  work = result.catch(() => {});
  return result;
}

function errorText(e) {
  const doc = rejection(e);
  return doc ? `rejected: ${doc.code} ${doc.message}` : e.message;
}

async function main() {
  client = await connect(args, log);
  shadow = shadowClient(client, args.timeoutMs);

  // Subscribe first, so a delta caused by our own report is not missed.
  const deltas = shadow.createShadowDeltaUpdatedStream({ thingName });
  await openStream(deltas, (event) => {
    log(`delta ${compact(event.state)} (version ${event.version})`);
    // A failed report is logged; the device keeps listening.
    queue(() => follow(event.state, 'delta')).catch((e) => log(`error: ${errorText(e)}`));
  }, args.timeoutMs, 'delta');
  log(`listening for deltas on $aws/things/${thingName}/shadow/update/delta`);

  await queue(async () => {
    const accepted = await shadow.updateShadow({ thingName, state: { reported: state } });
    log(`reported ${compact(state)} -> version ${accepted.version}`);
  });

  // A desired state set while the device was offline shows up as the delta
  // of the current document.
  await queue(async () => {
    const doc = await shadow.getShadow({ thingName });
    if (doc.state && doc.state.delta) await follow(doc.state.delta, 'stored desired state');
  });
  log('waiting for deltas (Ctrl-C to stop)');
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: disconnecting`);
    if (shadow) shadow.close();
    shutdown(client, 0);
  });
}

main().catch((e) => {
  log(`error: ${errorText(e)}`);
  shutdown(client, 1);
});
