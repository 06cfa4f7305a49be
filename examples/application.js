#!/usr/bin/env node
// The demo application of the reference scenario, written only against the
// stock AWS IoT Device SDK v2 for JavaScript:
//
//  1. it watches the thing's /update/documents events and prints each one,
//  2. waits until the device has reported its state,
//  3. sets the desired state (default {"lights": "off"}),
//  4. and waits until the device reports the desired values, then exits 0.
//
// It exits 1 when the device does not follow within --timeout_s seconds.
// See examples/README.md.
'use strict';

const {
  parseCommandLine, logger, withTimeout, connect, shadowClient, openStream, rejection, compact, shutdown,
} = require('./lib/common');

const args = parseCommandLine('application', {
  desired: { type: 'string', default: '{"lights":"off"}', help: 'desired state to set, as JSON' },
}, 'application');
const log = logger('application');
const thingName = args.thing_name;

let desired;
try {
  desired = JSON.parse(args.desired);
} catch (e) {
  process.stderr.write(`application: --desired is not JSON: ${e.message}\n`);
  process.exit(2);
}
if (desired === null || typeof desired !== 'object' || Array.isArray(desired)) {
  process.stderr.write('application: --desired must be a JSON object such as {"lights":"off"}\n');
  process.exit(2);
}

// True when every desired key has the same value in `reported`.
function follows(reported) {
  return Boolean(reported) &&
    Object.entries(desired).every(([k, v]) => compact(reported[k]) === compact(v));
}

// Resolves with the first document (a get reply or the `current` of an
// update/documents event) that satisfies `test`.
function documentWatcher() {
  const waiters = [];
  return {
    offer(doc) {
      for (const w of [...waiters]) {
        if (w.test(doc)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(doc);
        }
      }
    },
    until(test) {
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

let client = null;

async function main() {
  client = await connect(args, log);
  const shadow = shadowClient(client, args.timeoutMs);
  const watcher = documentWatcher();

  const documents = shadow.createShadowUpdatedStream({ thingName });
  await openStream(documents, (event) => {
    const prev = event.previous ? `version ${event.previous.version}` : 'new shadow';
    const cur = event.current;
    log(`update/documents: ${prev} -> version ${cur.version}: ` +
        `desired ${compact((cur.state && cur.state.desired) || {})}, ` +
        `reported ${compact((cur.state && cur.state.reported) || {})}`);
    watcher.offer(cur);
  }, args.timeoutMs, 'documents');
  log(`watching $aws/things/${thingName}/shadow/update/documents`);

  // Step 2: the device's state, from the stored shadow or the next report.
  const hasReport = (doc) => Boolean(doc && doc.state && doc.state.reported);
  const reportSeen = watcher.until(hasReport);
  let current = null;
  try {
    current = await shadow.getShadow({ thingName });
  } catch (e) {
    const doc = rejection(e);
    if (!doc || doc.code !== 404) throw e;
    log(`${thingName} has no shadow yet`);
  }
  if (!hasReport(current)) {
    log(`waiting for ${thingName} to report its state`);
    current = await withTimeout(reportSeen, args.timeoutMs, `report from ${thingName}`);
  }
  log(`${thingName} reports ${compact(current.state.reported)} (version ${current.version})`);

  // Step 3 and 4. The watcher is armed before the update, so a device that
  // answers at once is not missed.
  const synced = watcher.until((doc) => doc.state && follows(doc.state.reported));
  const accepted = await shadow.updateShadow({ thingName, state: { desired } });
  log(`set desired ${compact(desired)} -> accepted, version ${accepted.version}`);
  // The documents event of this very update shows whether the device already
  // reports these values; otherwise a later report of the device will.
  const done = await withTimeout(synced, args.timeoutMs, `report of ${compact(desired)} from ${thingName}`);
  log(`${thingName} follows: reported ${compact(done.state.reported)} (version ${done.version})`);

  const final = await shadow.getShadow({ thingName });
  log(`shadow now: ${compact(final.state)} (version ${final.version})`);
  shadow.close();
}

main().then(() => shutdown(client, 0), (e) => {
  const doc = rejection(e);
  log(`error: ${doc ? `rejected: ${doc.code} ${doc.message}` : e.message}`);
  shutdown(client, 1);
});
