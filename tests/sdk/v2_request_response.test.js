// aws-iot-device-sdk-v2 IotShadowClientv2 (the request/response API) against
// the broker and plugin, over MQTT 3.1.1 and MQTT 5, plain TCP and mutual TLS.
// The SDK correlates replies only by the clientToken it generates, so every
// resolved call here also proves the token was echoed.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { iotshadow } = require('aws-iot-device-sdk-v2');
const { mqtt_request_response } = require('aws-crt');

const { useBroker } = require('./lib/fixture');
const { connect } = require('./lib/v2clients');
const { EventQueue, withTimeout } = require('./lib/wait');
const { uniqueThing } = require('./lib/names');

const OP_TIMEOUT_S = 5;
const EVENT_MS = 5000;
const DEVICE = 'sdk-v2-device';

const fixture = useBroker({ devices: [DEVICE] });

// Awaits a rejected request and returns the SDK's modeled error document.
async function modeledError(promise) {
  try {
    const ok = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(ok)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e.modeledError, `expected a modeled (service) error, got: ${e.message} ${e.internalError || ''}`);
    return e.modeledError;
  }
}

// Opens a stream and waits until its subscription is acknowledged, so no
// event published afterwards can be missed. Events land in the queue.
async function openStream(stream, queue) {
  const established = new Promise((resolve, reject) => {
    stream.on('subscriptionStatus', (ev) => {
      if (ev.type === mqtt_request_response.SubscriptionStatusEventType.SubscriptionEstablished) resolve();
      else reject(new Error(`stream subscription status ${ev.type}: ${ev.error}`));
    });
  });
  stream.on('incomingPublish', (ev) => queue.push(ev.message));
  stream.on('incomingPublishError', (ev) => queue.push({ error: ev.error }));
  stream.open();
  await withTimeout(established, EVENT_MS, `${queue.name} subscription`);
  return stream;
}

const combos = [
  ['mqtt311', 'plain'],
  ['mqtt311', 'mtls'],
  ['mqtt5', 'plain'],
  ['mqtt5', 'mtls'],
];

for (const [protocol, transport] of combos) {
  describe(`IotShadowClientv2 over ${protocol} ${transport}`, () => {
    let link;
    let shadow;
    const streams = [];

    before(async () => {
      link = await connect(fixture.broker, { protocol, transport, clientId: `rr-${protocol}-${transport}`, device: DEVICE });
      const options = { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 8, operationTimeoutInSeconds: OP_TIMEOUT_S };
      shadow = protocol === 'mqtt5'
        ? iotshadow.IotShadowClientv2.newFromMqtt5(link.client, options)
        : iotshadow.IotShadowClientv2.newFromMqtt311(link.conn, options);
    });

    after(async () => {
      for (const s of streams) s.close();
      if (shadow) shadow.close();
      if (link) await link.close();
    });

    it('get and delete of a missing classic shadow are rejected with 404', async () => {
      const thing = uniqueThing('missing');
      const getErr = await modeledError(shadow.getShadow({ thingName: thing }));
      assert.equal(getErr.code, 404);
      assert.equal(getErr.message, `No shadow exists with name: '${thing}'`);
      assert.equal(typeof getErr.clientToken, 'string');
      const delErr = await modeledError(shadow.deleteShadow({ thingName: thing }));
      assert.equal(delErr.code, 404);
      assert.equal(delErr.message, `No shadow exists with name: '${thing}'`);
    });

    it('update creates the shadow; get returns desired, reported, delta and version', async () => {
      const thing = uniqueThing('crud');
      const created = await shadow.updateShadow({ thingName: thing, state: { desired: { color: 'red', level: 3 } } });
      assert.equal(created.version, 1);
      assert.deepEqual(created.state.desired, { color: 'red', level: 3 });
      assert.equal(typeof created.metadata.desired.color.timestamp, 'number');
      assert.equal(typeof created.timestamp, 'number');

      let doc = await shadow.getShadow({ thingName: thing });
      assert.equal(doc.version, 1);
      assert.deepEqual(doc.state.desired, { color: 'red', level: 3 });
      assert.equal(doc.state.reported, undefined);
      assert.deepEqual(doc.state.delta, { color: 'red', level: 3 });

      // The update carries the version it expects; a match is accepted.
      const reported = await shadow.updateShadow({ thingName: thing, state: { reported: { color: 'red' } }, version: 1 });
      assert.equal(reported.version, 2);
      assert.deepEqual(reported.state, { reported: { color: 'red' } });

      doc = await shadow.getShadow({ thingName: thing });
      assert.equal(doc.version, 2);
      assert.deepEqual(doc.state.desired, { color: 'red', level: 3 });
      assert.deepEqual(doc.state.reported, { color: 'red' });
      assert.deepEqual(doc.state.delta, { level: 3 });

      // null deletes a key; an in-sync shadow has no delta in get.
      const cleared = await shadow.updateShadow({ thingName: thing, state: { desired: { level: null } } });
      assert.equal(cleared.version, 3);
      doc = await shadow.getShadow({ thingName: thing });
      assert.deepEqual(doc.state.desired, { color: 'red' });
      assert.equal(doc.state.delta, undefined);
    });

    it('an update with a stale version is rejected with 409 and changes nothing', async () => {
      const thing = uniqueThing('conflict');
      await shadow.updateShadow({ thingName: thing, state: { reported: { n: 1 } } });
      await shadow.updateShadow({ thingName: thing, state: { reported: { n: 2 } } });
      for (const version of [1, 3]) {
        const err = await modeledError(shadow.updateShadow({ thingName: thing, state: { reported: { n: 99 } }, version }));
        assert.equal(err.code, 409);
        assert.equal(err.message, 'Version conflict');
      }
      const doc = await shadow.getShadow({ thingName: thing });
      assert.equal(doc.version, 2);
      assert.deepEqual(doc.state.reported, { n: 2 });
    });

    it('delete answers the last version; re-create continues the numbering', async () => {
      const thing = uniqueThing('recreate');
      await shadow.updateShadow({ thingName: thing, state: { reported: { x: 1 } } });
      await shadow.updateShadow({ thingName: thing, state: { reported: { x: 2 } } });
      const deleted = await shadow.deleteShadow({ thingName: thing });
      assert.equal(deleted.version, 2);
      assert.equal((await modeledError(shadow.getShadow({ thingName: thing }))).code, 404);

      const again = await shadow.updateShadow({ thingName: thing, state: { reported: { x: 3 } } });
      // As in tests/vectors/TV-18.json: the delete leaves a tombstone at v+1, the re-created shadow is v+2.
      assert.equal(again.version, 4);
      const doc = await shadow.getShadow({ thingName: thing });
      assert.deepEqual(doc.state, { reported: { x: 3 } });
      assert.equal(doc.version, 4);
    });

    it('delta and updated streams deliver the events of each accepted update', async () => {
      const thing = uniqueThing('streams');
      const deltas = new EventQueue(`delta ${thing}`);
      const docs = new EventQueue(`documents ${thing}`);
      streams.push(await openStream(shadow.createShadowDeltaUpdatedStream({ thingName: thing }), deltas));
      streams.push(await openStream(shadow.createShadowUpdatedStream({ thingName: thing }), docs));

      await shadow.updateShadow({ thingName: thing, state: { desired: { color: 'red' } } });
      const d1 = await deltas.next(() => true, EVENT_MS, 'first delta');
      assert.equal(d1.version, 1);
      assert.deepEqual(d1.state, { color: 'red' });
      assert.equal(typeof d1.metadata.color.timestamp, 'number');
      const u1 = await docs.next(() => true, EVENT_MS, 'first documents');
      assert.ok(u1.previous === undefined || u1.previous === null, `previous of a new shadow: ${JSON.stringify(u1.previous)}`);
      assert.equal(u1.current.version, 1);
      assert.deepEqual(u1.current.state.desired, { color: 'red' });

      // Reporting the desired value empties the delta: documents, but no delta event.
      await shadow.updateShadow({ thingName: thing, state: { reported: { color: 'red' } } });
      const u2 = await docs.next(() => true, EVENT_MS, 'second documents');
      assert.equal(u2.previous.version, 1);
      assert.equal(u2.current.version, 2);
      assert.deepEqual(u2.current.state.reported, { color: 'red' });
      assert.deepEqual(u2.previous.state.reported, undefined);

      await shadow.updateShadow({ thingName: thing, state: { desired: { color: 'blue' } } });
      // Events on one topic arrive in order, so the next delta being version 3
      // shows that version 2 (in sync) published none.
      const d3 = await deltas.next(() => true, EVENT_MS, 'delta after blue');
      assert.equal(d3.version, 3);
      assert.deepEqual(d3.state, { color: 'blue' });
      const u3 = await docs.next(() => true, EVENT_MS, 'third documents');
      assert.equal(u3.current.version, 3);
      assert.deepEqual(u3.previous.state.desired, { color: 'red' });
      assert.deepEqual(u3.current.state.desired, { color: 'blue' });
      assert.deepEqual(u3.current.state.reported, { color: 'red' });
      assert.deepEqual(deltas.pending(), []);
    });

    it('named shadows have their own document, version, streams and 404s', async () => {
      const thing = uniqueThing('named');
      const shadowName = 'cfg';
      const ids = { thingName: thing, shadowName };
      const missing = await modeledError(shadow.getNamedShadow(ids));
      assert.equal(missing.code, 404);
      assert.equal(missing.message, `No shadow exists with name: '${shadowName}'`);

      const deltas = new EventQueue(`named delta ${thing}`);
      const docs = new EventQueue(`named documents ${thing}`);
      streams.push(await openStream(shadow.createNamedShadowDeltaUpdatedStream(ids), deltas));
      streams.push(await openStream(shadow.createNamedShadowUpdatedStream(ids), docs));

      const created = await shadow.updateNamedShadow({ ...ids, state: { desired: { rate: 10 } } });
      assert.equal(created.version, 1);
      const d = await deltas.next(() => true, EVENT_MS, 'named delta');
      assert.equal(d.version, 1);
      assert.deepEqual(d.state, { rate: 10 });
      const u = await docs.next(() => true, EVENT_MS, 'named documents');
      assert.equal(u.current.version, 1);
      assert.deepEqual(u.current.state.desired, { rate: 10 });

      // The classic shadow of the same thing is untouched.
      assert.equal((await modeledError(shadow.getShadow({ thingName: thing }))).code, 404);
      const other = await shadow.updateNamedShadow({ thingName: thing, shadowName: 'other', state: { reported: { a: 1 } } });
      assert.equal(other.version, 1);

      const got = await shadow.getNamedShadow(ids);
      assert.equal(got.version, 1);
      assert.deepEqual(got.state.delta, { rate: 10 });

      const conflict = await modeledError(shadow.updateNamedShadow({ ...ids, state: { reported: { rate: 10 } }, version: 7 }));
      assert.equal(conflict.code, 409);

      const deleted = await shadow.deleteNamedShadow(ids);
      assert.equal(deleted.version, 1);
      assert.equal((await modeledError(shadow.getNamedShadow(ids))).code, 404);
      assert.equal((await shadow.getNamedShadow({ thingName: thing, shadowName: 'other' })).version, 1);
    });
  });
}
