// edge/mosquitto-bridge.conf with real Mosquitto brokers: a "gateway" broker that includes the
// file as shipped (only `address` pointed at the test's "fleet" broker), and the fleet broker.
// Both run on free ports in temp folders; the system broker on 1883 is not touched.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  createProcessGroup,
  createTempDirs,
  freePort,
  have,
  portOpen,
  repoRoot,
  waitFor,
} from './support.ts';

const hasMosquitto = have('mosquitto');
if (!hasMosquitto)
  console.warn('SKIP mosquitto bridge test: mosquitto not found (apt-get install -y mosquitto)');

const temp = createTempDirs('tp-bridge');
const procs = createProcessGroup();
const clients: MqttClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await procs.killAll();
  temp.cleanup();
});

interface Broker {
  name: string;
  port: number;
  conf: string;
  log: string;
  proc?: Subprocess;
}

let dir = '';
let fleet: Broker;
let gateway: Broker;

function writeBrokerConf(b: Broker, extra: string) {
  const db = join(dir, `${b.name}-db`);
  mkdirSync(db, { recursive: true });
  writeFileSync(
    b.conf,
    [
      `listener ${b.port} 127.0.0.1`,
      'allow_anonymous true',
      // Run as the test's user: as root Mosquitto would switch to "mosquitto", which cannot
      // write the temp folders.
      'user root',
      `persistence_location ${db}/`,
      `log_dest file ${b.log}`,
      'log_type all',
      extra,
    ].join('\n'),
  );
}

async function start(b: Broker) {
  b.proc = procs.spawn(['mosquitto', '-c', b.conf]);
  await waitFor(`${b.name} broker on ${b.port}\n${logTail(b)}`, () => portOpen(b.port), 5000);
}

/** SIGTERM, as systemd stops it: Mosquitto saves its persistence file on the way out. */
async function stop(b: Broker) {
  b.proc?.kill('SIGTERM');
  await b.proc?.exited;
}

function logTail(b: Broker): string {
  return existsSync(b.log) ? readFileSync(b.log, 'utf8').split('\n').slice(-25).join('\n') : '(no log)';
}

beforeAll(async () => {
  if (!hasMosquitto) return;
  dir = temp.make();
  fleet = {
    name: 'fleet',
    port: await freePort(),
    conf: join(dir, 'fleet.conf'),
    log: join(dir, 'fleet.log'),
  };
  gateway = {
    name: 'gateway',
    port: await freePort(),
    conf: join(dir, 'gateway.conf'),
    log: join(dir, 'gateway.log'),
  };
  writeBrokerConf(fleet, 'persistence true');
  // The gateway includes conf.d like Debian's mosquitto.conf does; the bridge file goes there.
  const confD = join(dir, 'conf.d');
  mkdirSync(confD);
  writeBrokerConf(gateway, `include_dir ${confD}`);
  const shipped = readFileSync(join(repoRoot, 'edge/mosquitto-bridge.conf'), 'utf8');
  const pointed = shipped.replace(/^address .*$/m, `address 127.0.0.1:${fleet.port}`);
  expect(pointed).not.toBe(shipped);
  writeFileSync(join(confD, 'tracepulse-bridge.conf'), pointed);
  await start(fleet);
  await start(gateway);
});

interface Received {
  topic: string;
  payload: string;
  userProperties: Record<string, string | string[]>;
}

/** A client that records every message it receives, reconnecting on its own like a real one. */
async function recorder(port: number, clientId: string, topics: string[]) {
  const seen: Received[] = [];
  const client = await connectAsync({
    host: '127.0.0.1',
    port,
    protocol: 'mqtt',
    protocolVersion: 5,
    clientId,
    clean: false,
    // MQTT 5: the session (and the messages queued in it) outlives a disconnect for an hour.
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 200,
  });
  clients.push(client);
  client.on('message', (topic, payload, packet) =>
    seen.push({
      topic,
      payload: payload.toString(),
      userProperties: packet.properties?.userProperties ?? {},
    }),
  );
  await client.subscribeAsync(topics, { qos: 1 });
  return seen;
}

/** Publishes like TracePulse's MQTT report sink: MQTT 5, QoS 1, JSON, an idempotency key. */
async function publisher(port: number) {
  const client = await connectAsync({ host: '127.0.0.1', port, protocol: 'mqtt', protocolVersion: 5 });
  clients.push(client);
  return {
    end: () => client.endAsync(),
    send: (topic: string, body: string, key?: string) =>
      client.publishAsync(topic, body, {
        qos: 1,
        retain: false,
        properties: {
          contentType: 'application/json',
          ...(key ? { userProperties: { 'idempotency-key': key, kind: 'report' } } : {}),
        },
      }),
  };
}

const report = (n: number) =>
  JSON.stringify({
    stationId: 'EV-Station-01',
    trigger: 'CABLE_CHECK_FAULT',
    summary: `MREC11CableCheckFault on connector 1 (report ${n})`,
    topHypothesis: 'powersupply_dc: gap in PSU measurement stream',
  });

describe.skipIf(!hasMosquitto)('Mosquitto fleet bridge', () => {
  test('forwards reports (only reports) to the fleet broker, and queues them through an outage and a gateway broker restart', async () => {
    // The fleet side keeps a persistent session, as a fleet archive would.
    const atFleet = await recorder(fleet.port, 'fleet-archive', ['#']);
    const bridgeState = await recorder(gateway.port, 'bridge-watch', ['tracepulse/bridge/state']);
    const lastState = () => bridgeState.at(-1)?.payload;
    await waitFor(`bridge up\n${logTail(gateway)}`, () => lastState() === '1', 10_000);

    const pub = await publisher(gateway.port);
    const topic = 'tracepulse/reports/EV-Station-01';
    // Not a report: must stay on the gateway.
    await pub.send(
      'everest/modules/evse_manager_1/impl/evse/var/session_event',
      '{"event":"SessionStarted"}',
    );
    await pub.send(topic, report(1), 'report:r-0001:1');
    const arrived = (n: number) => atFleet.some((m) => m.topic === topic && m.payload === report(n));
    await waitFor(`report 1 at the fleet broker\n${logTail(gateway)}`, () => arrived(1), 10_000);

    // Uplink down: the fleet broker goes away. The gateway accepts reports (PUBACK) and queues them.
    await stop(fleet);
    await waitFor('bridge down notification', () => lastState() === '0', 10_000);
    await pub.send(topic, report(2), 'report:r-0002:1');

    // The gateway broker restarts while the uplink is still down (reboot, upgrade): the queue
    // is saved on SIGTERM and loaded again.
    await pub.end();
    await stop(gateway);
    await start(gateway);
    const pub2 = await publisher(gateway.port);
    await pub2.send(topic, report(3), 'report:r-0003:1');

    // Uplink back: both queued reports arrive, in order.
    await start(fleet);
    await waitFor(
      `queued reports 2 and 3 at the fleet broker\n${logTail(gateway)}\n---\n${logTail(fleet)}`,
      () => arrived(2) && arrived(3),
      30_000,
      100,
    );

    const reports = atFleet
      .filter((m) => m.topic === topic)
      .map((m) => JSON.parse(m.payload).summary as string);
    expect(reports.filter((s) => s.endsWith('(report 2)') || s.endsWith('(report 3)'))).toEqual([
      'MREC11CableCheckFault on connector 1 (report 2)',
      'MREC11CableCheckFault on connector 1 (report 3)',
    ]);
    // Only reports crossed the bridge (plus nothing else: the state topic is local-only).
    expect(atFleet.every((m) => m.topic.startsWith('tracepulse/reports/'))).toBe(true);
    // The bridge speaks MQTT 5, so the sink's idempotency key reaches the fleet for de-duplication.
    expect(atFleet.map((m) => m.userProperties['idempotency-key'])).toEqual([
      'report:r-0001:1',
      'report:r-0002:1',
      'report:r-0003:1',
    ]);
  }, 55_000);
});
