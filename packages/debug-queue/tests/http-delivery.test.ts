import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createDebugQueue, withCorrelationId } from '../src/index.ts';
import { failure } from './helpers/fixtures.ts';
import { freePort, startTracePulse, type TracePulse, waitFor } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const fast = { retryInitialMs: 20, retryMaxMs: 200, timeoutMs: 2000, silent: true };

/**
 * A proxy in front of the real TracePulse that forwards every request, but for the first
 * POST /api/logs waits for TracePulse's answer (the batch is committed) and never passes it on:
 * the station sees a timeout for a batch that was stored.
 */
function lossyProxy(target: string) {
  const logPosts: Array<string | null> = [];
  let firstCommitted!: () => void;
  const committed = new Promise<void>((r) => {
    firstCommitted = r;
  });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === 'POST' ? await req.arrayBuffer() : undefined;
      const isLogPost = req.method === 'POST' && url.pathname === '/api/logs';
      if (isLogPost) logPosts.push(req.headers.get('idempotency-key'));
      const res = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body,
      });
      if (isLogPost && logPosts.length === 1) {
        await res.arrayBuffer();
        firstCommitted();
        // The answer is lost: hold the connection until the sender gives up on it.
        await new Promise((r) => req.signal.addEventListener('abort', r));
      }
      return res;
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, logPosts, committed, stop: () => server.stop(true) };
}

describe('HTTP transport to the real TracePulse', () => {
  let tp: TracePulse;
  beforeAll(async () => {
    tp = await startTracePulse({ apiKeys: ['station-key-01'] });
  }, 30_000);
  afterAll(async () => {
    await tp.dispose();
  });

  test('an event arrives with every field, its id and its log() timestamp', async () => {
    const q = createDebugQueue({ url: tp.url, apiKey: 'station-key-01', ...fast });
    const before = Date.now();
    q.log(
      'SESSION_DROP',
      {
        service: 'evse_manager_1',
        errorCode: 'EVCommunicationError',
        correlationId: 'txn-456',
        details: {
          userId: '123',
          sessionId: 'abc',
          edgeDevice: 'EV-Station-01',
          connectorId: 1,
          plugged: true,
        },
        message: 'SLAC: Connection lost in matched state',
      },
      { priority: 'high' },
    );
    const after = Date.now();
    expect(await q.flush(5000)).toBe(true);
    const [e] = await tp.events({ correlationId: 'txn-456' });
    expect(e).toBeDefined();
    expect(e!.eventType).toBe('SESSION_DROP');
    expect(e!.service).toBe('evse_manager_1');
    expect(e!.errorCode).toBe('EVCommunicationError');
    expect(e!.priority).toBe('high');
    expect(e!.message).toBe('SLAC: Connection lost in matched state');
    expect(e!.details).toEqual({
      userId: '123',
      sessionId: 'abc',
      edgeDevice: 'EV-Station-01',
      connectorId: '1',
      plugged: 'true',
    });
    expect(e!.id).toMatch(/^[0-9a-f-]{36}-[0-9a-z]+$/);
    const ts = Date.parse(e!.timestamp);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(e!.source).toBe('http');
    expect(q.stats().primary?.delivered).toBe(1);
    await q.close();
  });

  test('without a priority, TracePulse decides from its system map triggers', async () => {
    const q = createDebugQueue({ url: tp.url, apiKey: 'station-key-01', ...fast });
    q.log('SESSION_DROP', {
      service: 'evse_manager_1',
      errorCode: 'EVCommunicationError',
      correlationId: 'txn-prio',
    });
    q.log('METER_VALUE_LATE', {
      service: 'powermeter_ac',
      errorCode: 'PowerMeterFailure',
      correlationId: 'txn-prio',
    });
    expect(await q.close()).toBe(true);
    const events = await tp.events({ correlationId: 'txn-prio' });
    const priorityOf = (t: string) => events.find((e) => e.eventType === t)?.priority;
    expect(priorityOf('SESSION_DROP')).toBe('high'); // a trigger in system-map.yaml
    expect(priorityOf('METER_VALUE_LATE')).toBe('low');
  });

  test('log lines go to /api/logs in batches, correlation id from withCorrelationId()', async () => {
    const q = createDebugQueue({ url: tp.url, apiKey: 'station-key-01', ...fast });
    withCorrelationId('txn-batch-77', () => {
      for (let i = 0; i < 250; i++) {
        q.logLine(i % 2 ? 'warn' : 'error', `Yeti UART timeout! attempt ${i}`, { service: 'bsp' });
      }
      q.log('BSP_RESET_FAILED', { service: 'bsp', errorCode: 'CommunicationFault' }, { priority: 'low' });
    });
    expect(await q.flush(5000)).toBe(true);
    const logs = await tp.logs({ correlationId: 'txn-batch-77' });
    expect(logs.length).toBe(250);
    expect(new Set(logs.map((l) => l.message)).size).toBe(250);
    expect(logs.find((l) => l.message === 'Yeti UART timeout! attempt 3')?.level).toBe('warn');
    const events = await tp.events({ correlationId: 'txn-batch-77' });
    expect(events.map((e) => [e.eventType, e.priority])).toEqual([['BSP_RESET_FAILED', 'low']]);
    await q.close();
  });

  test('attributes that cannot be JSON-encoded do not poison the queue', async () => {
    const q = createDebugQueue({ url: tp.url, apiKey: 'station-key-01', ...fast });
    const cyclic: Record<string, unknown> = { module: 'LemDCBM400600' };
    cyclic.self = cyclic;
    q.logLine('error', 'fetch_ocmf_result failed', {
      service: 'powermeter_dc',
      correlationId: 'txn-enc',
      attributes: cyclic,
    });
    q.logLine('error', 'energy counter wrapped', {
      service: 'powermeter_dc',
      correlationId: 'txn-enc',
      attributes: { wh: 10n },
    });
    q.logLine('warn', 'OCMF signature pending', {
      service: 'powermeter_dc',
      correlationId: 'txn-enc',
      attributes: { tries: 2 },
    });
    expect(await q.flush(5000)).toBe(true);
    const logs = await tp.logs({ correlationId: 'txn-enc' });
    expect(logs).toHaveLength(3);
    expect(logs.find((l) => l.message === 'OCMF signature pending')?.attributes).toEqual({ tries: 2 });
    expect(Object.keys(logs.find((l) => l.message === 'energy counter wrapped')?.attributes ?? {})).toEqual([
      'unserializable',
    ]);
    expect(q.stats().primary?.retries).toBe(0);
    await q.close();
  });

  test('a line TracePulse refuses inside a batch counts as rejected; the others are stored', async () => {
    const errors: string[] = [];
    const q = createDebugQueue({
      url: tp.url,
      apiKey: 'station-key-01',
      ...fast,
      onError: (e) => errors.push(e.code),
    });
    q.logLine('warn', 'PN532 did not wake', { service: 'rfid', correlationId: 'txn-partial' });
    // attributes must be an object; plain JavaScript callers can still pass an array
    const list = ['getFirmwareVersion', 'configureSAM'] as unknown as Record<string, unknown>;
    q.logLine('error', 'PN532 retries exhausted', {
      service: 'rfid',
      correlationId: 'txn-partial',
      attributes: list,
    });
    q.logLine('warn', 'PN532 reader reset', { service: 'rfid', correlationId: 'txn-partial' });
    expect(await q.flush(5000)).toBe(true);
    const logs = await tp.logs({ correlationId: 'txn-partial' });
    expect(logs.map((l) => l.message).sort()).toEqual(['PN532 did not wake', 'PN532 reader reset']);
    expect(q.stats().primary).toMatchObject({ delivered: 2, rejected: 1, retries: 0 });
    expect(q.stats().primary?.lastError).toContain('attributes');
    expect(errors).toContain('REJECTED');
    await q.close();
  });

  test('a batch whose answer was lost is retried under its key and stored once; lines queued since are stored too', async () => {
    const proxy = lossyProxy(tp.url);
    const q = createDebugQueue({ url: proxy.url, apiKey: 'station-key-01', ...fast, timeoutMs: 500 });
    try {
      withCorrelationId('txn-lte-9931', () => {
        for (let i = 0; i < 30; i++)
          q.logLine(i % 3 ? 'warn' : 'error', `WebsocketPongTimeout: no pong within 30 s (attempt ${i})`, {
            service: 'ocpp',
          });
      });
      await proxy.committed;
      // Queued while the first batch is in flight: the retry carries these too, under a new key.
      withCorrelationId('txn-lte-9931', () => {
        for (let i = 0; i < 20; i++)
          q.logLine('error', `wwan0: modem lost registration, reconnect ${i}`, { service: 'network' });
      });
      expect(await q.flush(10_000)).toBe(true);

      const logs = await tp.logs({ correlationId: 'txn-lte-9931' });
      expect(logs).toHaveLength(50);
      expect(new Set(logs.map((l) => l.message)).size).toBe(50);
      const s = q.stats().primary!;
      expect(s).toMatchObject({ delivered: 50, rejected: 0 });
      expect(s.retries).toBeGreaterThanOrEqual(30);

      // First post, its retry under the same key, and the new lines under a fresh one.
      const [first, ...later] = proxy.logPosts;
      expect(first).toMatch(/^[0-9a-f-]{36}$/);
      expect(later.filter((k) => k === first)).toHaveLength(1);
      expect(later.filter((k) => k !== first).every((k) => k && /^[0-9a-f-]{36}$/.test(k))).toBe(true);
      expect(new Set(proxy.logPosts).size).toBe(proxy.logPosts.length - 1);
      await q.close();
    } finally {
      proxy.stop();
    }
  });

  test('a 401 (missing API key) is retried with backoff and keeps the event queued, not dropped', async () => {
    const errors: string[] = [];
    const q = createDebugQueue({ url: tp.url, ...fast, onError: (e) => errors.push(e.message) });
    q.log('PLUGIN_TIMEOUT', {
      service: 'auth',
      errorCode: 'MREC9AuthorizationTimeout',
      correlationId: 'txn-401',
    });
    await waitFor('a 401 retry', () => (q.stats().primary?.retries ?? 0) > 0);
    expect(q.stats().primary?.lastError).toContain('401');
    expect(errors.some((m) => m.includes('401'))).toBe(true);
    const s = q.stats().primary!;
    expect(s.dropped.total + s.rejected + s.delivered).toBe(0);
    expect(s.queued + s.inFlight).toBe(1);
    expect(await q.close(100)).toBe(false);
    expect(await tp.events({ correlationId: 'txn-401' })).toEqual([]);
  });

  test('close() delivers what was logged just before it', async () => {
    const q = createDebugQueue({ url: tp.url, apiKey: 'station-key-01', ...fast });
    for (let i = 0; i < 40; i++) {
      const f = failure(i, 'close');
      q.log(f.eventType, f.fields);
    }
    expect(await q.close()).toBe(true);
    const events = await tp.events({ service: 'evse_manager_1', limit: '1000' });
    const mine = events.filter((e) => e.correlationId?.startsWith('txn-close-'));
    // failures 0 and 2 of every 5 are evse_manager_1
    expect(mine.length).toBe(16);
    const all = await Promise.all(
      ['evse_manager_2', 'powermeter_ac', 'ocpp'].map((service) => tp.events({ service })),
    );
    const total = mine.length + all.flat().filter((e) => e.correlationId?.startsWith('txn-close-')).length;
    expect(total).toBe(40);
    q.log('AFTER_CLOSE', { service: 'ocpp', errorCode: 'InternalError' });
    expect(q.stats().discarded).toBe(1);
  });
});

describe('destination away and back', () => {
  test('events logged while TracePulse is not running arrive once it starts', async () => {
    const port = await freePort();
    const q = createDebugQueue({ url: `http://127.0.0.1:${port}`, ...fast, maxQueue: 500 });
    for (let i = 0; i < 60; i++) {
      const f = failure(i, 'late');
      q.log(f.eventType, f.fields);
      q.logLine('error', `ConnectorLockFailedLock on connector 1 (${i})`, {
        service: 'evse_manager_1',
        correlationId: `txn-late-${i}`,
      });
    }
    await waitFor('a failed attempt', () => (q.stats().primary?.retries ?? 0) > 0);
    // Retrying, with nothing delivered or dropped; with the fast test backoff the next attempt may
    // already be under way, so 'sending' is as right as 'backoff' (seen flaking on a loaded CI run).
    const away = q.stats().primary!;
    expect(['backoff', 'sending']).toContain(away.state);
    expect(away.delivered).toBe(0);
    expect(away.dropped.total).toBe(0);
    const tp = await startTracePulse({ port });
    try {
      expect(await q.flush(10_000)).toBe(true);
      const s = q.stats().primary!;
      expect(s.delivered).toBe(120);
      expect(s.dropped.total).toBe(0);
      const events = (
        await Promise.all(
          ['evse_manager_1', 'evse_manager_2', 'powermeter_ac', 'ocpp'].map((service) =>
            tp.events({ service }),
          ),
        )
      ).flat();
      expect(new Set(events.map((e) => e.correlationId)).size).toBe(60);
      expect((await tp.logs({ service: 'evse_manager_1' })).length).toBe(60);
      await q.close();
    } finally {
      await tp.dispose();
    }
  });

  test('a TracePulse restart in the middle loses nothing', async () => {
    const tp = await startTracePulse();
    const q = createDebugQueue({ url: tp.url, ...fast });
    try {
      for (let i = 0; i < 20; i++)
        q.log('OCPP_CALLERROR', {
          service: 'ocpp',
          errorCode: 'InternalError',
          correlationId: `txn-rs-${i}`,
        });
      expect(await q.flush(5000)).toBe(true);
      await tp.stop();
      for (let i = 20; i < 50; i++)
        q.log('OCPP_CALLERROR', {
          service: 'ocpp',
          errorCode: 'InternalError',
          correlationId: `txn-rs-${i}`,
        });
      await waitFor('a failed attempt while TracePulse is down', () => (q.stats().primary?.retries ?? 0) > 0);
      await tp.start();
      expect(await q.flush(10_000)).toBe(true);
      const events = await tp.events({ service: 'ocpp' });
      const ids = new Set(
        events.filter((e) => e.correlationId?.startsWith('txn-rs-')).map((e) => e.correlationId),
      );
      expect(ids.size).toBe(50);
      await q.close();
    } finally {
      await tp.dispose();
    }
  });
});
