// aws-iot-device-sdk-v2 IotShadowClient (the older publish/subscribe API).
// It sends the request object as JSON, thingName and shadowName included,
// adds no clientToken of its own and does no correlation: the test subscribes
// to every response topic and matches replies by the tokens it chose.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { iotshadow, mqtt } = require('aws-iot-device-sdk-v2');

const { useBroker } = require('./lib/fixture');
const { connect } = require('./lib/v2clients');
const { EventQueue, withTimeout } = require('./lib/wait');
const { uniqueThing } = require('./lib/names');

const EVENT_MS = 5000;
const QOS = mqtt.QoS.AtLeastOnce;
const DEVICE = 'sdk-legacy-device';

const fixture = useBroker({ devices: [DEVICE] });

// Subscribes to every response and event topic of one (classic or named)
// shadow; each message lands in the queue as { kind, error, body }.
async function subscribeAll(client, thingName, shadowName) {
  const queue = new EventQueue(shadowName ? `${thingName}/${shadowName}` : thingName);
  const req = shadowName ? { thingName, shadowName } : { thingName };
  const into = (kind) => (error, body) => queue.push({ kind, error, body });
  const n = shadowName ? 'NamedShadow' : 'Shadow';
  const subs = [
    [`subscribeToGet${n}Accepted`, 'get/accepted'],
    [`subscribeToGet${n}Rejected`, 'get/rejected'],
    [`subscribeToUpdate${n}Accepted`, 'update/accepted'],
    [`subscribeToUpdate${n}Rejected`, 'update/rejected'],
    [`subscribeToDelete${n}Accepted`, 'delete/accepted'],
    [`subscribeToDelete${n}Rejected`, 'delete/rejected'],
    [`subscribeTo${n}DeltaUpdatedEvents`, 'update/delta'],
    [`subscribeTo${n}UpdatedEvents`, 'update/documents'],
  ];
  for (const [method, kind] of subs) {
    await withTimeout(client[method](req, QOS, into(kind)), EVENT_MS, `SUBACK for ${kind}`);
  }
  return queue;
}

// Waits for the message of `kind` that carries `token` (or none, for null).
async function reply(queue, kind, token) {
  const ev = await queue.next(
    (e) => e.kind === kind && (token === null ? e.body && e.body.clientToken === undefined : e.body && e.body.clientToken === token),
    EVENT_MS, `${kind} with clientToken ${token}`);
  assert.equal(ev.error, undefined, `${kind} could not be parsed by the SDK`);
  return ev.body;
}

const combos = [
  ['mqtt311', 'plain'],
  ['mqtt5', 'plain'],
  ['mqtt311', 'mtls'],
  ['mqtt5', 'mtls'],
];

for (const [protocol, transport] of combos) {
  describe(`IotShadowClient (pub/sub) over ${protocol} ${transport}`, () => {
    let link;
    let client;

    before(async () => {
      link = await connect(fixture.broker, { protocol, transport, clientId: `ps-${protocol}-${transport}`, device: DEVICE });
      client = protocol === 'mqtt5'
        ? iotshadow.IotShadowClient.newFromMqtt5Client(link.client)
        : new iotshadow.IotShadowClient(link.conn);
    });

    after(async () => {
      if (link) await link.close();
    });

    it('classic shadow: get 404, update, delta, documents, 409, get, delete', async () => {
      const thingName = uniqueThing('legacy');
      const q = await subscribeAll(client, thingName);

      await client.publishGetShadow({ thingName, clientToken: 'g-1' }, QOS);
      const missing = await reply(q, 'get/rejected', 'g-1');
      assert.equal(missing.code, 404);
      assert.equal(missing.message, `No shadow exists with name: '${thingName}'`);

      await client.publishUpdateShadow({ thingName, clientToken: 'u-1', state: { desired: { color: 'green' } } }, QOS);
      const accepted = await reply(q, 'update/accepted', 'u-1');
      assert.equal(accepted.version, 1);
      assert.deepEqual(accepted.state, { desired: { color: 'green' } });
      const delta = await reply(q, 'update/delta', 'u-1');
      assert.equal(delta.version, 1);
      assert.deepEqual(delta.state, { color: 'green' });
      const docs = await reply(q, 'update/documents', 'u-1');
      assert.equal(docs.current.version, 1);
      assert.deepEqual(docs.current.state.desired, { color: 'green' });

      // Without a clientToken the reply carries none; the version check passes.
      await client.publishUpdateShadow({ thingName, state: { reported: { color: 'green' } }, version: 1 }, QOS);
      const synced = await reply(q, 'update/accepted', null);
      assert.equal(synced.version, 2);
      assert.deepEqual(synced.state, { reported: { color: 'green' } });
      const docs2 = await reply(q, 'update/documents', null);
      assert.equal(docs2.previous.version, 1);
      assert.equal(docs2.current.version, 2);

      await client.publishUpdateShadow({ thingName, clientToken: 'u-3', state: { desired: { color: 'red' } }, version: 1 }, QOS);
      const conflict = await reply(q, 'update/rejected', 'u-3');
      assert.equal(conflict.code, 409);
      assert.equal(conflict.message, 'Version conflict');

      await client.publishGetShadow({ thingName, clientToken: 'g-2' }, QOS);
      const doc = await reply(q, 'get/accepted', 'g-2');
      assert.equal(doc.version, 2);
      assert.deepEqual(doc.state, { desired: { color: 'green' }, reported: { color: 'green' } });
      assert.equal(typeof doc.metadata.reported.color.timestamp, 'number');

      await client.publishDeleteShadow({ thingName, clientToken: 'd-1' }, QOS);
      const deleted = await reply(q, 'delete/accepted', 'd-1');
      assert.equal(deleted.version, 2);
      await client.publishDeleteShadow({ thingName, clientToken: 'd-2' }, QOS);
      assert.equal((await reply(q, 'delete/rejected', 'd-2')).code, 404);

      // Nothing else was published for this shadow: no delta for the in-sync
      // update, no accepted for the conflict.
      await client.publishGetShadow({ thingName, clientToken: 'g-3' }, QOS);
      assert.equal((await reply(q, 'get/rejected', 'g-3')).code, 404);
      assert.deepEqual(q.pending().map((e) => e.kind), []);
    });

    it('named shadow: update, get, delete under /name/', async () => {
      const thingName = uniqueThing('legacy-named');
      const shadowName = 'settings';
      const q = await subscribeAll(client, thingName, shadowName);

      await client.publishUpdateNamedShadow({ thingName, shadowName, clientToken: 'n-1', state: { reported: { mode: 'eco' } } }, QOS);
      const accepted = await reply(q, 'update/accepted', 'n-1');
      assert.equal(accepted.version, 1);
      const docs = await reply(q, 'update/documents', 'n-1');
      assert.deepEqual(docs.current.state.reported, { mode: 'eco' });

      await client.publishGetNamedShadow({ thingName, shadowName, clientToken: 'n-2' }, QOS);
      const doc = await reply(q, 'get/accepted', 'n-2');
      assert.deepEqual(doc.state, { reported: { mode: 'eco' } });
      assert.equal(doc.version, 1);

      await client.publishDeleteNamedShadow({ thingName, shadowName, clientToken: 'n-3' }, QOS);
      assert.equal((await reply(q, 'delete/accepted', 'n-3')).version, 1);
      await client.publishGetNamedShadow({ thingName, shadowName, clientToken: 'n-4' }, QOS);
      const missing = await reply(q, 'get/rejected', 'n-4');
      assert.equal(missing.code, 404);
      assert.equal(missing.message, `No shadow exists with name: '${shadowName}'`);
    });
  });
}
