// Connections made the way a device using aws-iot-device-sdk-v2 makes them:
// MQTT 3.1.1 or MQTT 5, over plain TCP or mutual TLS (the SDK's own mTLS
// builders with our test CA as the trust store). Each returns an object with
// the protocol client and an async close().
'use strict';

const { mqtt, mqtt5, iot, io } = require('aws-iot-device-sdk-v2');
const { withTimeout } = require('./wait');

const CONNECT_TIMEOUT_MS = 8000;
const HOST = '127.0.0.1';

async function connect311(broker, { transport, clientId, device }) {
  let config;
  if (transport === 'mtls') {
    const d = broker.device(device);
    config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(d.cert, d.key)
      .with_certificate_authority_from_path(undefined, d.ca)
      .with_endpoint(HOST)
      .with_port(broker.tlsPort)
      .with_client_id(clientId)
      .with_clean_session(true)
      .with_keep_alive_seconds(30)
      .build();
  } else {
    // The builders are TLS-only, so a plain connection is configured by hand.
    config = {
      client_id: clientId,
      host_name: HOST,
      port: broker.port,
      clean_session: true,
      keep_alive: 30,
      socket_options: new io.SocketOptions(),
    };
  }
  const conn = new mqtt.MqttClient().new_connection(config);
  await withTimeout(conn.connect(), CONNECT_TIMEOUT_MS, `MQTT 3.1.1 ${transport} connect of ${clientId}`);
  return {
    protocol: 'mqtt311',
    conn,
    async close() {
      await withTimeout(conn.disconnect(), CONNECT_TIMEOUT_MS, `disconnect of ${clientId}`);
    },
  };
}

async function connect5(broker, { transport, clientId, device }) {
  let config;
  const connectProperties = { clientId, keepAliveIntervalSeconds: 30 };
  if (transport === 'mtls') {
    const d = broker.device(device);
    const b = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(HOST, d.cert, d.key);
    b.withCertificateAuthorityFromPath(undefined, d.ca);
    b.withPort(broker.tlsPort);
    b.withConnectProperties(connectProperties);
    config = b.build();
  } else {
    config = { hostName: HOST, port: broker.port, connectProperties };
  }
  const client = new mqtt5.Mqtt5Client(config);
  const connected = new Promise((resolve, reject) => {
    client.once('connectionSuccess', resolve);
    client.once('connectionFailure', (e) => reject(e.error || new Error('MQTT5 connection failure')));
  });
  client.start();
  // A failed first connect fails the test instead of retrying in the background.
  try {
    await withTimeout(connected, CONNECT_TIMEOUT_MS, `MQTT 5 ${transport} connect of ${clientId}`);
  } catch (e) {
    client.stop();
    client.close();
    throw e;
  }
  return {
    protocol: 'mqtt5',
    client,
    async close() {
      const stopped = new Promise((resolve) => client.once('stopped', resolve));
      client.stop();
      await withTimeout(stopped, CONNECT_TIMEOUT_MS, `stop of ${clientId}`);
      client.close();
    },
  };
}

// protocol: 'mqtt311' | 'mqtt5'; transport: 'plain' | 'mtls'.
function connect(broker, { protocol, ...rest }) {
  return protocol === 'mqtt5' ? connect5(broker, rest) : connect311(broker, rest);
}

module.exports = { connect };
