// A thin promise wrapper around aws-iot-device-sdk (v1) thingShadow over
// mutual TLS, the only transport that SDK offers without AWS credentials.
// The SDK itself does the clientToken matching; this only turns its events
// into bounded waits.
'use strict';

const awsIot = require('aws-iot-device-sdk');
const { EventQueue, withTimeout } = require('./wait');

const OPERATION_TIMEOUT_MS = 4000;   // the SDK's own per-operation timeout
const WAIT_MS = OPERATION_TIMEOUT_MS + 2000;

class V1Device {
  constructor(broker, { device, clientId }) {
    const d = broker.device(device);
    this.clientId = clientId;
    this.events = new EventQueue(`thingShadow ${clientId}`);
    this.shadow = awsIot.thingShadow({
      host: 'localhost',
      port: broker.tlsPort,
      protocol: 'mqtts',
      keyPath: d.key,
      certPath: d.cert,
      caPath: d.ca,
      clientId,
    }, { operationTimeout: OPERATION_TIMEOUT_MS });
    this.connected = new Promise((resolve, reject) => {
      this.shadow.once('connect', resolve);
      this.shadow.once('error', (e) => reject(new Error(`${clientId}: ${e && e.message}`)));
      this.shadow.once('close', () => reject(new Error(`${clientId}: connection closed`)));
    });
    this.connected.catch(() => {});   // reported by connect(), not as unhandled
    const push = (type) => (...args) => this.events.push({ type, args });
    for (const type of ['status', 'delta', 'timeout', 'foreignStateChange', 'error', 'close']) {
      this.shadow.on(type, push(type));
    }
  }

  // The SDK starts connecting in the constructor, so the outcome is captured
  // there and only awaited here.
  async connect() {
    await withTimeout(this.connected, WAIT_MS, `${this.clientId} connect`);
    this.events.clear();
  }

  register(thing, options = {}) {
    return withTimeout(new Promise((resolve, reject) => {
      this.shadow.register(thing, options, (err, failed) => (err ? reject(new Error(`register: ${err} ${JSON.stringify(failed)}`)) : resolve()));
    }), WAIT_MS, `register ${thing}`);
  }

  unregister(thing) {
    this.shadow.unregister(thing);
  }

  // Runs get/update/delete and resolves with { stat, doc } from the 'status'
  // event whose clientToken is the one the SDK returned for this operation.
  // A 'timeout' event (the SDK gave up, e.g. because it discarded the reply
  // as stale) becomes an error.
  async op(name, thing, arg) {
    const token = name === 'update' ? this.shadow.update(thing, arg) : this.shadow[name](thing, arg);
    if (token === null) throw new Error(`thingShadow refused ${name} on ${thing} (operation in progress?)`);
    const ev = await this.events.next(
      (e) => (e.type === 'status' || e.type === 'timeout') && e.args[0] === thing &&
        e.args[e.type === 'status' ? 2 : 1] === token,
      WAIT_MS, `${name} status for ${token}`);
    if (ev.type === 'timeout') throw new Error(`thingShadow ${name} ${token} timed out (no reply it accepted)`);
    const [, stat, clientToken, doc] = ev.args;
    return { stat, token: clientToken, doc };
  }

  next(type, thing, what) {
    return this.events.next((e) => e.type === type && e.args[0] === thing, WAIT_MS, what || `${type} on ${thing}`);
  }

  end() {
    return withTimeout(new Promise((resolve) => this.shadow.end(true, resolve)), WAIT_MS, `${this.clientId} end`);
  }
}

module.exports = { V1Device };
