// aws-iot-device-sdk (v1) thingShadow over mutual TLS. This SDK keeps its own
// idea of the shadow version: it adds the last version it saw to every
// request (get and delete too), drops accepted/delta messages older than that
// version, and reports an operation only when the reply echoes its
// clientToken. Each of those behaviours is exercised against the plugin.
'use strict';

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');

const { useBroker } = require('./lib/fixture');
const { V1Device } = require('./lib/v1device');
const { uniqueThing } = require('./lib/names');

const DEVICE = 'sdk-v1-device';
const WRITER = 'sdk-v1-writer';

let device;   // the thingShadow under test
let writer;   // a second thingShadow that changes shadows behind the device's back

useBroker({ devices: [DEVICE, WRITER] }, {
  async onStart(broker) {
    device = new V1Device(broker, { device: DEVICE, clientId: 'v1-device' });
    writer = new V1Device(broker, { device: WRITER, clientId: 'v1-writer' });
    await device.connect();
    await writer.connect();
  },
  async onStop() {
    for (const d of [device, writer]) if (d) await d.end();
  },
});

describe('thingShadow over mutual TLS', () => {
  it('register, get 404, update, delta, versioned update, get', async () => {
    const thing = uniqueThing('v1');
    await device.register(thing);

    const missing = await device.op('get', thing);
    assert.equal(missing.stat, 'rejected');
    assert.equal(missing.doc.code, 404);
    assert.equal(missing.doc.message, `No shadow exists with name: '${thing}'`);

    const created = await device.op('update', thing, { state: { desired: { color: 'red', speed: 5 } } });
    assert.equal(created.stat, 'accepted');
    assert.match(created.token, /^v1-device-\d+$/);
    assert.equal(created.doc.version, 1);
    assert.deepEqual(created.doc.state, { desired: { color: 'red', speed: 5 } });
    assert.equal(created.doc.clientToken, undefined, 'the SDK strips the token from the document');

    const delta = await device.next('delta', thing, 'delta after desired');
    const [, deltaDoc] = delta.args;
    assert.equal(deltaDoc.version, 1);
    assert.deepEqual(deltaDoc.state, { color: 'red', speed: 5 });

    // The SDK now sends "version":1 with this update; the server must accept it.
    const reported = await device.op('update', thing, { state: { reported: { color: 'red' } } });
    assert.equal(reported.stat, 'accepted');
    assert.equal(reported.doc.version, 2);
    const delta2 = await device.next('delta', thing, 'delta after partial report');
    assert.equal(delta2.args[1].version, 2);
    assert.deepEqual(delta2.args[1].state, { speed: 5 });

    // ... and "version":2 with the get, which the server must ignore.
    const got = await device.op('get', thing);
    assert.equal(got.stat, 'accepted');
    assert.equal(got.doc.version, 2);
    assert.deepEqual(got.doc.state.desired, { color: 'red', speed: 5 });
    assert.deepEqual(got.doc.state.reported, { color: 'red' });
    assert.deepEqual(got.doc.state.delta, { speed: 5 });
  });

  it('an update from another client arrives as foreignStateChange and delta', async () => {
    const thing = uniqueThing('v1-foreign');
    await device.register(thing);
    await writer.register(thing);

    const own = await device.op('update', thing, { state: { reported: { mode: 'a' } } });
    assert.equal(own.doc.version, 1);
    // The writer saw version 1 too (it is subscribed), so its update is in order.
    const theirs = await writer.op('update', thing, { state: { desired: { mode: 'b' } } });
    assert.equal(theirs.stat, 'accepted');
    assert.equal(theirs.doc.version, 2);

    const foreign = await device.next('foreignStateChange', thing, 'foreign update');
    const [, operation, doc] = foreign.args;
    assert.equal(operation, 'update');
    assert.equal(doc.version, 2);
    assert.deepEqual(doc.state, { desired: { mode: 'b' } });
    const delta = await device.next('delta', thing, 'delta from foreign update');
    assert.deepEqual(delta.args[1].state, { mode: 'b' });

    // The device learnt version 2 from those messages; its next update uses it.
    const next = await device.op('update', thing, { state: { reported: { mode: 'b' } } });
    assert.equal(next.stat, 'accepted');
    assert.equal(next.doc.version, 3);
    writer.unregister(thing);
  });

  it('an update built on a version the device never saw is rejected with 409', async () => {
    const thing = uniqueThing('v1-conflict');
    // Subscribed only while an operation runs, so the writer's change goes unseen
    // (a reported-only change with no desired state publishes no delta either).
    await device.register(thing, { persistentSubscribe: false });
    await writer.register(thing, { persistentSubscribe: false });

    assert.equal((await device.op('update', thing, { state: { reported: { n: 1 } } })).doc.version, 1);
    assert.equal((await writer.op('update', thing, { state: { reported: { n: 2 } } })).doc.version, 2);

    const conflict = await device.op('update', thing, { state: { reported: { n: 3 } } });
    assert.equal(conflict.stat, 'rejected');
    assert.equal(conflict.doc.code, 409);
    assert.equal(conflict.doc.message, 'Version conflict');

    // A get (carrying the stale version 1) is answered and teaches the SDK version 2.
    const got = await device.op('get', thing);
    assert.equal(got.stat, 'accepted');
    assert.equal(got.doc.version, 2);
    assert.deepEqual(got.doc.state.reported, { n: 2 });
    const retried = await device.op('update', thing, { state: { reported: { n: 3 } } });
    assert.equal(retried.stat, 'accepted');
    assert.equal(retried.doc.version, 3);
    writer.unregister(thing);
  });

  it('delete, 404 after delete, and re-create with a version the SDK does not discard', async () => {
    const thing = uniqueThing('v1-delete');
    // Versioning off: updates carry no version, so re-creation is not a 409.
    // discardStale stays on: a re-created shadow numbered below the deleted one
    // would be dropped by the SDK and the update would end in 'timeout'.
    await device.register(thing, { enableVersioning: false });

    await device.op('update', thing, { state: { reported: { x: 1 } } });
    const v2 = await device.op('update', thing, { state: { reported: { x: 2 } } });
    assert.equal(v2.doc.version, 2);

    const deleted = await device.op('delete', thing);
    assert.equal(deleted.stat, 'accepted');
    assert.equal(deleted.doc.version, 2);

    const gone = await device.op('get', thing);
    assert.equal(gone.stat, 'rejected');
    assert.equal(gone.doc.code, 404);
    const again = await device.op('delete', thing);
    assert.equal(again.stat, 'rejected');
    assert.equal(again.doc.code, 404);

    const recreated = await device.op('update', thing, { state: { reported: { x: 3 } } });
    assert.equal(recreated.stat, 'accepted');
    assert.ok(recreated.doc.version > 2, `re-created at version ${recreated.doc.version}, deleted at 2`);
    const got = await device.op('get', thing);
    assert.equal(got.stat, 'accepted');
    assert.deepEqual(got.doc.state, { reported: { x: 3 } });
    assert.equal(got.doc.version, recreated.doc.version);
  });

  it('with versioning on, re-creating from the pre-delete version is a 409 until the SDK re-registers', async () => {
    const thing = uniqueThing('v1-delete-versioned');
    await device.register(thing);
    await device.op('update', thing, { state: { desired: { y: 1 } } });
    assert.equal((await device.next('delta', thing)).args[1].version, 1);
    assert.equal((await device.op('delete', thing)).doc.version, 1);

    // The SDK still holds version 1 and sends it; the deleted shadow's tombstone
    // is at 2 (tests/vectors/TV-18.json), the same 409 AWS gives (aws-iot-device-sdk-js#68).
    const stale = await device.op('update', thing, { state: { desired: { y: 2 } } });
    assert.equal(stale.stat, 'rejected');
    assert.equal(stale.doc.code, 409);

    // Re-registering forgets the version; the update then re-creates the shadow.
    device.unregister(thing);
    await device.register(thing);
    const recreated = await device.op('update', thing, { state: { desired: { y: 2 } } });
    assert.equal(recreated.stat, 'accepted');
    assert.equal(recreated.doc.version, 3);
    const delta = await device.next('delta', thing, 'delta of the re-created shadow');
    assert.equal(delta.args[1].version, 3);
    assert.deepEqual(delta.args[1].state, { y: 2 });
  });

  it('a caller-chosen clientToken is echoed and matched', async () => {
    const thing = uniqueThing('v1-token');
    await device.register(thing);
    await device.op('update', thing, { state: { reported: { z: true } } });
    const token = device.shadow.get(thing, 'my-own-token-1');
    assert.equal(token, 'my-own-token-1');
    const ev = await device.events.next((e) => e.type === 'status' && e.args[2] === token, 6000, 'status for my-own-token-1');
    assert.equal(ev.args[1], 'accepted');
    assert.deepEqual(ev.args[3].state, { reported: { z: true } });
  });
});
