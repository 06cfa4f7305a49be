// Presence with the stock aws-iot-device-sdk-v2: lifecycle events in AWS's
// format for devices connecting over MQTT 3.1.1 and MQTT 5, the connected
// state in the shadow, and the catch-up delta a device gets from the SDK's
// own delta stream after it was offline while the desired state changed; a
// second connection with the same client id taking the session over; a
// device process killed with SIGKILL, and one stopped until its keep-alive
// expires; a broker restart under an SDK device.
'use strict';

const { spawn } = require('node:child_process');
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { iotshadow, mqtt } = require('aws-iot-device-sdk-v2');
const { mqtt_request_response } = require('aws-crt');

const { Broker } = require('./lib/broker');
const { useBroker } = require('./lib/fixture');
const { connect } = require('./lib/v2clients');
const { EventQueue, sleep, withTimeout } = require('./lib/wait');
const { uniqueThing } = require('./lib/names');

const EVENT_MS = 8000;
const DEVICE = 'sdk-presence-device';
const CONNECTED_KEYS = ['clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier',
  'ipAddress', 'versionNumber'];
const DISCONNECTED_KEYS = ['clientId', 'timestamp', 'eventType', 'sessionIdentifier', 'principalIdentifier',
  'versionNumber'];

// An application: an MQTT 3.1.1 connection that watches every presence event
// and uses the shadow service. Started with the broker (a separate root
// before() hook would race it).
let app;
let appShadow;
let events;

const decoder = new TextDecoder();
const shadowOptions = { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 4, operationTimeoutInSeconds: 5 };

const fixture = useBroker({
  devices: [DEVICE],
  pluginOptions: {
    lifecycle_events: 'true',
    presence_field: 'connected',
    delta_on_subscribe: 'true',
    acl_fallback: 'allow',
  },
}, {
  async onStart(broker) {
    app = await connect(broker, { protocol: 'mqtt311', transport: 'plain', clientId: uniqueThing('app') });
    events = new EventQueue('presence events');
    await withTimeout(app.conn.subscribe('$aws/events/presence/#', mqtt.QoS.AtLeastOnce, (topic, payload) => {
      events.push({ topic, doc: JSON.parse(decoder.decode(payload)) });
    }), EVENT_MS, 'SUBACK for $aws/events/presence/#');
    appShadow = iotshadow.IotShadowClientv2.newFromMqtt311(app.conn, shadowOptions);
  },
  async onStop() {
    if (appShadow) appShadow.close();
    if (app) await app.close();
  },
});

// What a device does right after connecting: a shadow request. The plugin
// sees connections at their first subscription or publish (the default
// plugin_opt_connect_detection activity: the SDKs send a username with their
// metrics, which Mosquitto's CONNECT check would refuse without a
// password_file).
async function getOwnShadow(link, thing) {
  const shadow = link.protocol === 'mqtt5'
    ? iotshadow.IotShadowClientv2.newFromMqtt5(link.client, shadowOptions)
    : iotshadow.IotShadowClientv2.newFromMqtt311(link.conn, shadowOptions);
  try {
    await shadow.getShadow({ thingName: thing });
  } catch (e) {
    assert.ok(e.modeledError, `get of ${thing}: ${e.message}`);  // 404: no shadow yet
  } finally {
    shadow.close();
  }
}

function presenceEvent(kind, clientId, ms = EVENT_MS) {
  const topic = `$aws/events/presence/${kind}/${clientId}`;
  return events.next((e) => e.topic === topic, ms, `${kind} event of ${clientId}`).then((e) => e.doc);
}

for (const protocol of ['mqtt311', 'mqtt5']) {
  describe(`lifecycle events of an SDK device over ${protocol}`, () => {
    it('connected and disconnected carry AWS\'s members, one session and one versionNumber', async () => {
      const clientId = uniqueThing(`presence-${protocol}`);
      const link = await connect(fixture.broker, { protocol, transport: 'plain', clientId });
      await getOwnShadow(link, clientId);
      const up = await presenceEvent('connected', clientId);
      assert.deepEqual(Object.keys(up), CONNECTED_KEYS);
      assert.equal(up.clientId, clientId);
      assert.equal(up.eventType, 'connected');
      assert.equal(up.ipAddress, '127.0.0.1');
      assert.match(up.sessionIdentifier, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(Math.abs(up.timestamp - Date.now()) < 600000, `timestamp in ms: ${up.timestamp}`);
      await link.close();
      const down = await presenceEvent('disconnected', clientId);
      assert.deepEqual(Object.keys(down), DISCONNECTED_KEYS);
      assert.equal(down.eventType, 'disconnected');
      assert.equal(down.sessionIdentifier, up.sessionIdentifier);
      assert.equal(down.versionNumber, up.versionNumber);
      assert.ok(down.timestamp >= up.timestamp);

      const again = await connect(fixture.broker, { protocol, transport: 'plain', clientId });
      await getOwnShadow(again, clientId);
      const up2 = await presenceEvent('connected', clientId);
      assert.ok(up2.versionNumber > up.versionNumber, `${up2.versionNumber} > ${up.versionNumber}`);
      await again.close();
      await presenceEvent('disconnected', clientId);
    });
  });
}

describe('a device that was offline', () => {
  it('gets the desired change from its delta stream, and its shadow shows it connected', async () => {
    const thing = uniqueThing('offline');
    await appShadow.updateShadow({ thingName: thing, state: { desired: { color: 'green' }, reported: { color: 'red' } } });

    // The device comes back over mutual TLS and opens the SDK's delta stream.
    const device = await connect(fixture.broker, { protocol: 'mqtt5', transport: 'mtls', clientId: thing, device: DEVICE });
    const deviceShadow = iotshadow.IotShadowClientv2.newFromMqtt5(device.client, shadowOptions);
    const deltas = new EventQueue(`delta ${thing}`);
    const stream = deviceShadow.createShadowDeltaUpdatedStream({ thingName: thing });
    const established = new Promise((resolve, reject) => {
      stream.on('subscriptionStatus', (ev) => {
        if (ev.type === mqtt_request_response.SubscriptionStatusEventType.SubscriptionEstablished) resolve();
        else reject(new Error(`delta stream: ${ev.type} ${ev.error}`));
      });
    });
    stream.on('incomingPublish', (ev) => deltas.push(ev.message));
    stream.open();
    try {
      await withTimeout(established, EVENT_MS, 'delta stream subscription');
      // The catch-up, and the delta event of the presence write (version
      // 2), which the stream is subscribed to by then: both carry the change.
      const delta = await deltas.next(() => true, EVENT_MS, 'catch-up delta');
      assert.deepEqual(delta.state, { color: 'green' });
      assert.ok(delta.version >= 1);

      // The device is first seen at its subscription; its connected event
      // and the shadow write come together.
      const up = await presenceEvent('connected', thing);
      assert.equal(up.principalIdentifier.length, 64, 'the certificate\'s SHA-256 fingerprint');
      const online = await appShadow.getShadow({ thingName: thing });
      assert.equal(online.state.reported.connected, true);
      assert.equal(online.version, 2);
    } finally {
      stream.close();
      deviceShadow.close();
      await device.close();
    }
    await presenceEvent('disconnected', thing);
    const offline = await appShadow.getShadow({ thingName: thing });
    assert.equal(offline.state.reported.connected, false);
    assert.equal(offline.version, 3);
    assert.deepEqual(offline.state.delta, { color: 'green' });
  });
});

describe('a second SDK connection with the same client id', () => {
  it('takes the session over: the first is reported disconnected, the second stays connected', async () => {
    const clientId = uniqueThing('takeover');
    const first = await connect(fixture.broker, { protocol: 'mqtt311', transport: 'plain', clientId });
    // The SDK reconnects an interrupted connection by itself; a device that
    // was replaced would then take the session back. Stop it instead.
    const interrupted = new Promise((resolve) => first.conn.once('interrupt', resolve));
    let second;
    let up2Session;
    try {
      await getOwnShadow(first, clientId);
      const up1 = await presenceEvent('connected', clientId);
      second = await connect(fixture.broker, { protocol: 'mqtt311', transport: 'plain', clientId });
      await withTimeout(interrupted, EVENT_MS, 'the first connection interrupted by the takeover');
      await first.close().catch(() => {});
      await getOwnShadow(second, clientId);
      const down1 = await presenceEvent('disconnected', clientId);
      assert.equal(down1.versionNumber, up1.versionNumber);
      assert.equal(down1.sessionIdentifier, up1.sessionIdentifier);
      // Connections seen at their first activity (the default) give no
      // reason here; DUPLICATE_CLIENTID needs connect_detection connect,
      // which the paho suite covers (docs/mqtt-api.md).
      assert.deepEqual(Object.keys(down1), DISCONNECTED_KEYS);
      const up2 = await presenceEvent('connected', clientId);
      assert.ok(up2.versionNumber > up1.versionNumber, `${up2.versionNumber} > ${up1.versionNumber}`);
      assert.notEqual(up2.sessionIdentifier, up1.sessionIdentifier);
      up2Session = up2.sessionIdentifier;
      // The second session stays connected: no disconnected event for it,
      // and the shadow says so, while it is still open.
      await sleep(1000);
      const online = await appShadow.getShadow({ thingName: clientId });
      assert.equal(online.state.reported.connected, true);
      assert.deepEqual(events.pending((e) => e.topic === `$aws/events/presence/disconnected/${clientId}`), []);
    } finally {
      if (second) await second.close();
      await first.close().catch(() => {});
    }
    const down2 = await presenceEvent('disconnected', clientId);
    assert.equal(down2.sessionIdentifier, up2Session);
  });
});

// A device in its own process (MQTT 3.1.1, with a Will, as AWS recommends),
// so that it can be killed or stopped: it gets its shadow, then prints
// "ready". Arguments: port, client id, keep-alive in seconds.
const KILLED_DEVICE = `
const { mqtt, io, iotshadow } = require('aws-iot-device-sdk-v2');
const [port, clientId, keepAlive] = process.argv.slice(1);
const conn = new mqtt.MqttClient().new_connection({
  client_id: clientId, host_name: '127.0.0.1', port: Number(port), clean_session: true,
  keep_alive: Number(keepAlive), ping_timeout: 1000,
  socket_options: new io.SocketOptions(),
  will: new mqtt.MqttWill('devices/' + clientId + '/status', mqtt.QoS.AtLeastOnce, 'offline', false),
});
(async () => {
  await conn.connect();
  const shadow = iotshadow.IotShadowClientv2.newFromMqtt311(conn, { maxRequestResponseSubscriptions: 2,
    maxStreamingSubscriptions: 2, operationTimeoutInSeconds: 5 });
  try { await shadow.getShadow({ thingName: clientId }); } catch (e) { if (!e.modeledError) throw e; }
  console.log('ready');
})().catch((e) => { console.error(e); process.exit(1); });
`;

// The device process of KILLED_DEVICE; `ready` settles once it has its shadow.
function startDevice(clientId, keepAliveSeconds) {
  const child = spawn(process.execPath, ['-e', KILLED_DEVICE, String(fixture.broker.port), clientId,
    String(keepAliveSeconds)], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
  child.ready = withTimeout(new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`device process exited with ${code} before it was ready`)));
  }), EVENT_MS * 2, `device process ${clientId}`);
  return child;
}

describe('a device process stopped (SIGSTOP) until its keep-alive expires', () => {
  it('is reported disconnected once the broker drops it, and its shadow shows it offline', async () => {
    const clientId = uniqueThing('stalled');
    const child = startDevice(clientId, 2);
    try {
      await child.ready;
      const up = await presenceEvent('connected', clientId);
      const online = await appShadow.getShadow({ thingName: clientId });
      assert.equal(online.state.reported.connected, true);
      // The process keeps its TCP connection but sends nothing more: the
      // broker drops it after 1.5 keep-alive periods (3 s).
      // Mosquitto checks keep-alives only every few seconds, so allow more
      // than the 3 s.
      child.kill('SIGSTOP');
      const down = await presenceEvent('disconnected', clientId, 20000);
      assert.equal(down.versionNumber, up.versionNumber);
      assert.equal(down.clientInitiatedDisconnect, false);
      // Mosquitto 2.0.11 does not tell a keep-alive expiry from another
      // lost connection (docs/mqtt-api.md).
      assert.equal(down.disconnectReason, 'CONNECTION_LOST');
      const offline = await appShadow.getShadow({ thingName: clientId });
      assert.equal(offline.state.reported.connected, false);
      assert.equal(offline.version, online.version + 1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('a device process killed with SIGKILL', () => {
  it('is reported disconnected with CONNECTION_LOST, and its shadow shows it offline', async () => {
    const clientId = uniqueThing('killed');
    const child = startDevice(clientId, 30);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let onlineVersion;
    try {
      await child.ready;
      const up = await presenceEvent('connected', clientId);
      const online = await appShadow.getShadow({ thingName: clientId });
      assert.equal(online.state.reported.connected, true);
      onlineVersion = online.version;
      child.kill('SIGKILL');
      await withTimeout(exited, EVENT_MS, 'the killed device process');
      const down = await presenceEvent('disconnected', clientId);
      assert.deepEqual(Object.keys(down), ['clientId', 'timestamp', 'eventType', 'sessionIdentifier',
        'principalIdentifier', 'clientInitiatedDisconnect', 'disconnectReason', 'versionNumber']);
      assert.equal(down.clientInitiatedDisconnect, false);
      assert.equal(down.disconnectReason, 'CONNECTION_LOST');
      assert.equal(down.sessionIdentifier, up.sessionIdentifier);
      assert.equal(down.versionNumber, up.versionNumber);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // The presence write is made in the broker loop pass that published
    // the event, before the get below arrives.
    const offline = await appShadow.getShadow({ thingName: clientId });
    assert.equal(offline.state.reported.connected, false);
    assert.equal(offline.version, onlineVersion + 1);
  });
});

describe('a broker restart while an SDK device is connected', () => {
  it('leaves the device\'s shadow showing it offline, with a new version', async () => {
    // A broker of its own, restarted on the same ports and database.
    const broker = await new Broker({ pluginOptions: { presence_field: 'connected', acl_fallback: 'allow' } }).start();
    const thing = uniqueThing('restart');
    const links = [];
    const shadows = [];
    const readShadow = async () => {
      const link = await connect(broker, { protocol: 'mqtt5', transport: 'plain', clientId: uniqueThing('reader') });
      links.push(link);
      const shadow = iotshadow.IotShadowClientv2.newFromMqtt5(link.client, shadowOptions);
      shadows.push(shadow);
      return shadow.getShadow({ thingName: thing });
    };
    let ok = false;
    try {
      const device = await connect(broker, { protocol: 'mqtt5', transport: 'plain', clientId: thing });
      links.push(device);
      await getOwnShadow(device, thing);  // seen at its first request
      const online = await readShadow();
      assert.equal(online.state.reported.connected, true);

      await broker.stop();  // the device's connection is cut; nothing is reported now
      await broker.launch();
      // The first loop pass of the new run writes the disconnect the old
      // run could not; this reader's get comes in a later pass.
      const offline = await readShadow();
      assert.equal(offline.state.reported.connected, false);
      assert.equal(offline.version, online.version + 1);
      ok = true;
    } finally {
      for (const shadow of shadows) shadow.close();
      for (const link of links) await link.close().catch(() => {});
      await broker.stop();
      if (ok) broker.cleanup();
      else process.stderr.write(`restart test broker log tail:\n${broker.logTail(60)}\n`);
    }
  });
});
