import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { type FakeEs, startFakeEs } from '../../../tests/helpers/es-server.ts';
import { createDebugQueue } from '../src/index.ts';
import { startTracePulse, type TracePulse, waitFor } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const fast = { retryInitialMs: 20, retryMaxMs: 200, timeoutMs: 2000, silent: true };

let es: FakeEs;
let tp: TracePulse;
beforeAll(async () => {
  es = startFakeEs();
  // TracePulse follows the index debug-queue writes, with event.id as the search_after tiebreaker.
  tp = await startTracePulse({
    env: {
      TRACEPULSE_ELASTICSEARCH_URL: es.url,
      TRACEPULSE_ELASTICSEARCH_FOLLOW: 'true',
      TRACEPULSE_ELASTICSEARCH_FOLLOW_INTERVAL_MS: '100',
      TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD: 'event.id',
    },
  });
}, 30_000);
afterAll(async () => {
  await tp.dispose();
  es.stop();
});

const bulkBodies = () =>
  es.requests.filter((r) => r.path === '/_bulk').map((r) => String(r.body).split('\n').filter(Boolean));

test('log lines go to _bulk as ECS documents (create, id = line key); events do not; TracePulse follows them', async () => {
  const q = createDebugQueue({
    elasticsearchUrl: `http://tracepulse:s3cret@${es.url.slice('http://'.length)}`,
    elasticsearchIndex: 'logs-everest-default',
    ...fast,
  });
  try {
    const before = Date.now();
    q.logLine('error', 'MREC11CableCheckFault: isolation 85 kOhm', {
      service: 'evse_manager_es',
      correlationId: 'txn-es-dq-1',
      attributes: { evse: 1 },
    });
    q.logLine('warn', 'CableCheck retry 1/3', { service: 'evse_manager_es' });
    q.log('CABLE_CHECK_FAILED', { service: 'evse_manager_es', errorCode: 'MREC11CableCheckFault' });
    expect(await q.flush(5000)).toBe(true);
    const docs = es.docs.filter((d) => (d.source.service as { name?: string })?.name === 'evse_manager_es');
    expect(docs).toHaveLength(2);
    const err = docs.find((d) => d.source.message === 'MREC11CableCheckFault: isolation 85 kOhm')!;
    expect(err.index).toBe('logs-everest-default');
    expect(err.source).toMatchObject({
      log: { level: 'error' },
      labels: { correlation_id: 'txn-es-dq-1' },
      'debugqueue.attributes': { evse: 1 },
    });
    expect(Date.parse(String(err.source['@timestamp']))).toBeGreaterThanOrEqual(before - 1);
    expect((err.source.event as { id: string }).id).toBe(err.id);
    const bodies = bulkBodies();
    expect(JSON.parse(bodies.at(-1)![0]!)).toEqual({
      create: { _index: 'logs-everest-default', _id: err.id },
    });
    const r = es.requests.findLast((x) => x.path === '/_bulk')!;
    expect(r.headers.get('authorization')).toBe(`Basic ${btoa('tracepulse:s3cret')}`);
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    // TracePulse's follow mode reads them back from the index, once each.
    const logs = await waitFor('TracePulse to follow the lines', async () => {
      const l = await tp.logs({ service: 'evse_manager_es' });
      return l.length >= 2 ? l : undefined;
    });
    expect(logs.map((l) => [l.level, l.source, l.correlationId]).sort()).toEqual([
      ['error', 'es-follow', 'txn-es-dq-1'],
      ['warn', 'es-follow', null],
    ]);
  } finally {
    await q.close(500);
  }
});

test('an API key wins over user:password; a lost _bulk answer is retried without a second copy; an outage loses nothing', async () => {
  const q = createDebugQueue({ elasticsearchUrl: es.url, elasticsearchApiKey: 'a2V5OnNlY3JldA==', ...fast });
  try {
    // The documents are stored, the answer is lost: the retry gets 409 per line, which is delivered.
    es.mode.cutBulk = true;
    q.logLine('error', 'relay K1 welded', { service: 'bsp_es' });
    await waitFor('a cut _bulk answer', () => es.docs.some((d) => d.source.message === 'relay K1 welded'));
    es.mode.cutBulk = false;
    expect(await q.flush(5000)).toBe(true);
    expect(es.docs.filter((d) => d.source.message === 'relay K1 welded')).toHaveLength(1);
    expect(es.requests.findLast((x) => x.path === '/_bulk')!.headers.get('authorization')).toBe(
      'ApiKey a2V5OnNlY3JldA==',
    );
    es.mode.status = 503;
    for (let i = 0; i < 5; i++) q.logLine('warn', `during the outage ${i}`, { service: 'bsp_es' });
    await waitFor('a refused _bulk', () => q.stats().elasticsearch?.state === 'backoff');
    es.mode.status = null;
    expect(await q.flush(5000)).toBe(true);
    expect(es.docs.filter((d) => String(d.source.message).startsWith('during the outage'))).toHaveLength(5);
    expect(q.stats().elasticsearch).toMatchObject({ queued: 0, dropped: { total: 0 }, rejected: 0 });
  } finally {
    es.mode.status = null;
    es.mode.cutBulk = false;
    await q.close(500);
  }
});
