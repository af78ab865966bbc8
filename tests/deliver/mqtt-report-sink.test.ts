import { afterEach, describe, expect, test } from 'bun:test';
import { createServer, connect as netConnect } from 'node:net';
import { connect, type IPublishPacket } from 'mqtt';
import { freePort } from '../deploy/support.ts';
import type { Report } from '../../src/core/report.ts';
import { ID_TAG, sampleEvent, sampleReport } from './support/fixtures.ts';
import { startHarness, waitFor } from './support/harness.ts';

// The real Mosquitto on 127.0.0.1:1883 (started by the environment); a unique prefix per test.
const brokerUrl = 'mqtt://127.0.0.1:1883';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function subscriber(topic: string) {
  const got: Array<{ topic: string; body: Report; packet: IPublishPacket }> = [];
  const client = connect({
    host: '127.0.0.1',
    port: 1883,
    protocol: 'mqtt',
    protocolVersion: 5,
    clientId: `sub-${Bun.randomUUIDv7()}`,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () =>
      client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
    client.once('error', reject);
  });
  client.on('message', (t, payload, packet) =>
    got.push({ topic: t, body: JSON.parse(payload.toString()), packet }),
  );
  cleanups.push(() => new Promise<void>((r) => client.end(true, {}, () => r())));
  return got;
}

describe('MQTT report forwarding', () => {
  test('each report is published as JSON, QoS 1, not retained, to PREFIX/reports/<station>', async () => {
    const prefix = `tp-test-${Bun.randomUUIDv7()}`;
    const got = await subscriber(`${prefix}/reports/#`);
    const h = await startHarness({
      env: { TRACEPULSE_MQTT_URL: brokerUrl, TRACEPULSE_MQTT_TOPIC_PREFIX: prefix },
    });
    cleanups.push(() => h.cleanup());
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    h.reports.addRevision(report.id, {
      hypotheses: report.hypotheses,
      summary: 'refined',
      source: 'rules+llm',
    });
    await waitFor('two publishes', () => got.length === 2, 5000);
    const [first, second] = got;
    expect(first!.topic).toBe(`${prefix}/reports/EV-Station-01`);
    expect(first!.packet.qos).toBe(1);
    expect(first!.packet.retain).toBe(false);
    expect(first!.body).toMatchObject({
      id: report.id,
      stationId: 'EV-Station-01',
      revision: 1,
      source: 'rules',
    });
    expect(second!.body).toMatchObject({ id: report.id, revision: 2, source: 'rules+llm' });
    expect(first!.packet.properties?.userProperties).toMatchObject({
      'idempotency-key': `mqtt:${report.id}:created`,
      kind: 'created',
    });
    expect(JSON.stringify(got.map((g) => g.body))).not.toContain(ID_TAG);
    await waitFor('sent', () => h.cm.repo.list({ status: 'sent', channel: 'mqtt' }).length === 2);
  });

  test('broker unreachable: reports wait in the outbox and are published once, in order, when it is back', async () => {
    const prefix = `tp-test-${Bun.randomUUIDv7()}`;
    const got = await subscriber(`${prefix}/reports/#`);
    // The uplink: a TCP relay to Mosquitto that is closed at first (connection refused).
    const port = await freePort();
    const relay = createServer((inbound) => {
      const outbound = netConnect(1883, '127.0.0.1');
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    cleanups.push(() => new Promise<void>((r) => relay.close(() => r())));
    const h = await startHarness({
      env: { TRACEPULSE_MQTT_URL: `mqtt://127.0.0.1:${port}`, TRACEPULSE_MQTT_TOPIC_PREFIX: prefix },
    });
    cleanups.push(() => h.cleanup());
    const ids = [sampleReport(), sampleReport(), sampleReport()].map((r) => {
      h.reports.create(r, sampleEvent());
      return r.id;
    });
    await waitFor('channel down', () => h.cm.worker.channels().mqtt?.link === 'down');
    const pendingRows = () => h.cm.repo.list({ status: 'pending', channel: 'mqtt' });
    await waitFor('all three tried', () => (pendingRows().at(-1)?.lastError ?? '').includes('not connected'));
    const pending = pendingRows();
    expect(pending).toHaveLength(3);
    expect(pending.every((r) => r.failures === 0)).toBe(true);
    expect(pending.at(-1)!.lastError ?? '').toContain('not connected');

    await new Promise<void>((r) => relay.listen(port, '127.0.0.1', () => r()));
    await waitFor('three publishes', () => got.length === 3, 8000);
    // Every row marked sent (after its PUBACK): no publish is left that could send a fourth.
    await waitFor('three sent', () => h.cm.repo.list({ status: 'sent', channel: 'mqtt' }).length === 3);
    expect(got.map((g) => g.body.id)).toEqual(ids);
  });
});
