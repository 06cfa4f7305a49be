// What the demo device and the demo application share: command-line options
// named like those of the AWS IoT SDK samples, an MQTT 5 connection made with
// the stock aws-iot-device-sdk-v2 (plain TCP, or mutual TLS when --cert and
// --key are given), and bounded waiting.
'use strict';

const { parseArgs } = require('node:util');
const { mqtt5, iot, iotshadow } = require('aws-iot-device-sdk-v2');
const { mqtt_request_response: rr } = require('aws-crt');

// Options both programs accept; each program adds its own.
const COMMON_OPTIONS = {
  endpoint: { type: 'string', default: '127.0.0.1', help: 'broker host name or address' },
  port: { type: 'string', help: 'broker port (default: 1883, or 8883 with --cert)' },
  ca_file: { type: 'string', help: 'CA certificate that signed the broker\'s certificate (PEM)' },
  cert: { type: 'string', help: 'client certificate for mutual TLS (PEM)' },
  key: { type: 'string', help: 'private key of --cert (PEM)' },
  thing_name: { type: 'string', default: 'dev1', help: 'the thing whose classic shadow is used' },
  timeout_s: { type: 'string', default: '30', help: 'how long to wait for the broker and for replies' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function usage(program, options) {
  const lines = [`usage: node ${program}.js [options]`, '', 'options:'];
  for (const [name, o] of Object.entries(options)) {
    const def = o.default !== undefined ? ` (default: ${o.default})` : '';
    lines.push(`  --${name.padEnd(14)} ${o.help}${def}`);
  }
  return lines.join('\n');
}

// Parses process.argv; exits with status 2 and the usage on a bad command line.
// clientIdDefault: a fixed client id, or null for "the thing name" (what AWS
// recommends for devices).
function parseCommandLine(program, extraOptions, clientIdDefault) {
  const options = { ...COMMON_OPTIONS, ...extraOptions };
  options.client_id = {
    type: 'string',
    default: clientIdDefault === null ? undefined : clientIdDefault,
    help: `MQTT client id${clientIdDefault === null ? ' (default: the thing name)' : ''}`,
  };
  const spec = {};
  for (const [name, o] of Object.entries(options)) {
    spec[name] = { type: o.type };
    if (o.short !== undefined) spec[name].short = o.short;
    if (o.default !== undefined) spec[name].default = o.default;
  }
  let values;
  try {
    ({ values } = parseArgs({ options: spec, strict: true, allowPositionals: false }));
  } catch (e) {
    process.stderr.write(`${program}: ${e.message}\n${usage(program, options)}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage(program, options)}\n`);
    process.exit(0);
  }
  const tls = Boolean(values.cert || values.key);
  if (tls && !(values.cert && values.key)) {
    process.stderr.write(`${program}: --cert and --key go together\n`);
    process.exit(2);
  }
  const port = Number(values.port || (tls ? 8883 : 1883));
  const timeoutS = Number(values.timeout_s);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || !(timeoutS > 0)) {
    process.stderr.write(`${program}: --port must be 1-65535 and --timeout_s a positive number\n`);
    process.exit(2);
  }
  const clientId = values.client_id || values.thing_name;
  return { ...values, client_id: clientId, tls, port, timeoutMs: timeoutS * 1000 };
}

// A logger that prefixes every line, so the output of several programs in one
// terminal (or in `docker compose logs`) stays readable.
function logger(prefix) {
  return (message) => process.stdout.write(`[${prefix}] ${message}\n`);
}

// Rejects with a message naming `what` when `promise` has not settled in `ms`.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Connects an MQTT 5 client. After the first connection the SDK reconnects by
// itself, so a device survives a broker restart; a first connection that
// fails ends the program instead of retrying silently.
async function connect(args, log) {
  let config;
  if (args.tls) {
    const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
      args.endpoint, args.cert, args.key);
    if (args.ca_file) builder.withCertificateAuthorityFromPath(undefined, args.ca_file);
    builder.withPort(args.port);
    builder.withConnectProperties({ clientId: args.client_id, keepAliveIntervalSeconds: 30 });
    config = builder.build();
  } else {
    // The SDK's builders are TLS-only; plain TCP (local development) is
    // configured directly.
    config = {
      hostName: args.endpoint,
      port: args.port,
      connectProperties: { clientId: args.client_id, keepAliveIntervalSeconds: 30 },
    };
  }
  const client = new mqtt5.Mqtt5Client(config);
  const connected = new Promise((resolve, reject) => {
    client.once('connectionSuccess', resolve);
    client.once('connectionFailure', (e) => reject(e.error || new Error('connection failure')));
  });
  client.start();
  const where = `${args.endpoint}:${args.port}`;
  try {
    await withTimeout(connected, args.timeoutMs, `connection to ${where}`);
  } catch (e) {
    client.stop();
    client.close();
    throw new Error(`cannot connect to ${where}: ${e.message}`);
  }
  client.on('disconnection', () => log('disconnected from the broker; reconnecting'));
  client.on('connectionSuccess', () => log('reconnected'));
  log(`connected to ${where} over MQTT 5, ${args.tls ? 'mutual TLS' : 'plain TCP'}, client id ${args.client_id}`);
  return client;
}

// The request/response shadow client of the SDK: it subscribes to the reply
// topics, sends a random clientToken and matches the reply by it.
function shadowClient(client, timeoutMs) {
  return iotshadow.IotShadowClientv2.newFromMqtt5(client, {
    maxRequestResponseSubscriptions: 4,
    maxStreamingSubscriptions: 2,
    operationTimeoutInSeconds: Math.ceil(timeoutMs / 1000),
  });
}

// Opens a streaming operation (delta or documents events) and resolves once
// the broker acknowledged the subscription, so nothing published afterwards
// is missed. `onMessage` receives each parsed event.
async function openStream(stream, onMessage, timeoutMs, what) {
  const established = new Promise((resolve, reject) => {
    stream.on('subscriptionStatus', (ev) => {
      if (ev.type === rr.SubscriptionStatusEventType.SubscriptionEstablished) resolve();
      else reject(new Error(`${what} subscription failed: ${ev.error || ev.type}`));
    });
  });
  stream.on('incomingPublish', (ev) => onMessage(ev.message));
  stream.open();
  await withTimeout(established, timeoutMs, `${what} subscription`);
  return stream;
}

// The shadow document a /rejected reply carried, or null for other errors.
function rejection(error) {
  return error && error.modeledError ? error.modeledError : null;
}

const compact = (value) => JSON.stringify(value);

// Stops the client and ends the process. aws-crt keeps native handles alive
// after a connection is closed, so the exit is explicit.
function shutdown(client, code) {
  if (client) {
    const stopped = new Promise((resolve) => client.once('stopped', resolve));
    client.stop();
    withTimeout(stopped, 3000, 'stop').catch(() => {}).finally(() => {
      client.close();
      process.exit(code);
    });
  } else {
    process.exit(code);
  }
}

module.exports = {
  parseCommandLine, logger, withTimeout, connect, shadowClient, openStream, rejection, compact, shutdown,
};
