import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { createDebugQueue } from '../src/index.ts';
import { fakeLoki } from './helpers/fake-loki.ts';
import { startTracePulse, type TracePulse, waitFor } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const fast = { retryInitialMs: 20, retryMaxMs: 200, timeoutMs: 2000, silent: true };

let tp: TracePulse;
beforeAll(async () => {
  tp = await startTracePulse();
}, 30_000);
afterAll(async () => {
  await tp.dispose();
});

test('log lines also go to Loki as labelled streams with nanosecond timestamps; events do not', async () => {
  const loki = fakeLoki();
  const q = createDebugQueue({
    url: tp.url,
    lokiUrl: `http://tracepulse:s3cret@${loki.url.slice('http://'.length)}`,
    lokiLabels: { station: 'EV-Station-01' },
    lokiTenant: 'cpo-depot-north',
    ...fast,
  });
  try {
    const before = Date.now();
    q.logLine('error', 'MREC11CableCheckFault: isolation 85 kOhm', {
      service: 'evse_manager_1',
      correlationId: 'txn-loki-1',
    });
    q.logLine('error', 'Bender_isoCHA425HV: self test failed', {
      service: 'imd',
      correlationId: 'txn-loki-1',
    });
    q.logLine('warn', 'CableCheck retry 1/3', { service: 'evse_manager_1', correlationId: 'txn-loki-1' });
    q.log('CABLE_CHECK_FAILED', {
      service: 'evse_manager_1',
      errorCode: 'MREC11CableCheckFault',
      correlationId: 'txn-loki-1',
    });
    expect(await q.flush(5000)).toBe(true);
    const after = Date.now();

    const lines = loki.lines();
    expect(lines).toHaveLength(3);
    const byService = (s: string, level: string) =>
      lines.filter((l) => l.labels.service === s && l.labels.level === level);
    expect(byService('evse_manager_1', 'error')).toHaveLength(1);
    expect(byService('evse_manager_1', 'warn')).toHaveLength(1);
    expect(byService('imd', 'error')).toHaveLength(1);
    for (const l of lines) {
      expect(l.labels).toMatchObject({ station: 'EV-Station-01', source: 'debug-queue' });
      expect(l.ts).toMatch(/^\d{19}$/);
      const ms = Number(BigInt(l.ts) / 1_000_000n);
      expect(ms).toBeGreaterThanOrEqual(before);
      expect(ms).toBeLessThanOrEqual(after);
      expect(JSON.parse(l.line)).toMatchObject({ correlationId: 'txn-loki-1' });
    }
    expect(JSON.parse(byService('imd', 'error')[0]!.line).message).toBe(
      'Bender_isoCHA425HV: self test failed',
    );
    const headers = loki.pushes[0]!.headers;
    expect(headers.authorization).toBe(`Basic ${btoa('tracepulse:s3cret')}`);
    expect(headers['x-scope-orgid']).toBe('cpo-depot-north');
    // TracePulse got the three lines and the event as well
    expect(await tp.logs({ correlationId: 'txn-loki-1' })).toHaveLength(3);
    expect(await tp.events({ correlationId: 'txn-loki-1' })).toHaveLength(1);
  } finally {
    await q.close(500);
    loki.stop();
  }
});

test('Loki away does not hold up TracePulse, and its lines arrive once Loki is back', async () => {
  const loki = fakeLoki();
  loki.setFailing(true);
  const q = createDebugQueue({ url: tp.url, lokiUrl: loki.url, ...fast });
  try {
    for (let i = 0; i < 30; i++) {
      q.logLine('error', `EvseSlac: Connection lost in matched state (${i})`, {
        service: 'slac',
        correlationId: 'txn-loki-2',
      });
    }
    q.log('SLAC_LINK_LOST', {
      service: 'slac',
      errorCode: 'EVCommunicationError',
      correlationId: 'txn-loki-2',
    });
    await waitFor('TracePulse to have the lines while Loki refuses them', async () => {
      return (await tp.logs({ correlationId: 'txn-loki-2' })).length === 30 && loki.refused() > 0;
    });
    expect(await tp.events({ correlationId: 'txn-loki-2' })).toHaveLength(1);
    // Still retrying: between attempts, or already in the next one (the test's backoff is short).
    expect(['backoff', 'sending']).toContain(q.stats().loki?.state ?? 'none');
    expect(q.stats().loki?.lastError).toContain('503');
    loki.setFailing(false);
    expect(await q.flush(5000)).toBe(true);
    const lines = loki.lines();
    expect(lines).toHaveLength(30);
    // same-millisecond lines keep their order through the nanosecond sequence
    const ts = lines.map((l) => BigInt(l.ts));
    expect(ts.every((t, i) => i === 0 || t > ts[i - 1]!)).toBe(true);
    expect(q.stats().loki?.dropped.total).toBe(0);
  } finally {
    await q.close(500);
    loki.stop();
  }
});
