import { expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import { configFromEnv, createDebugQueue, DebugQueueError } from '../src/index.ts';
import { cleanEnv, run } from './helpers/run.ts';
import { packageRoot } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const app = join(packageRoot, 'tests/fixtures/no-destination-app.ts');

test('with no DEBUG_QUEUE_URL, log() is a cheap no-op that says so once on stderr', async () => {
  const r = await run(process.execPath, [app], { env: cleanEnv() });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { stats: Record<string, unknown>; flushed: boolean; usPerCall: number };
  expect(out.stats).toMatchObject({ transport: 'none', accepted: 0, discarded: 10_002, invalid: 0 });
  expect(out.stats.primary).toBeUndefined();
  expect(out.flushed).toBe(true);
  // A coarse guard against per-call I/O or blocking (the bench measures the real figure): the
  // average includes JIT warm-up and a loaded CI machine, and a blocking call would cost ≫ 25 µs.
  expect(out.usPerCall).toBeLessThan(25);
  const notices = r.stderr.split('\n').filter((l) => l.startsWith('debug-queue:'));
  expect(notices).toHaveLength(1);
  expect(notices[0]).toContain('no destination');
  // the wrapped console line itself is still printed, once
  expect(r.stderr.split('\n').filter((l) => l === 'Yeti UART timeout!')).toHaveLength(1);
});

test('a bad DEBUG_QUEUE_URL does not break the service: one notice, calls discarded', async () => {
  const r = await run(process.execPath, [app], {
    env: cleanEnv({ DEBUG_QUEUE_URL: 'ftp://gateway.local/events' }),
  });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { stats: Record<string, unknown> };
  expect(out.stats).toMatchObject({ transport: 'none', discarded: 10_002 });
  const notices = r.stderr.split('\n').filter((l) => l.startsWith('debug-queue:'));
  expect(notices).toHaveLength(1);
  expect(notices[0]).toContain('DEBUG_QUEUE_URL');
  expect(notices[0]).toContain('ftp:');
});

test('createDebugQueue() lists every config problem at once', () => {
  let error: unknown;
  try {
    createDebugQueue({ url: 'ftp://gateway.local', lokiUrl: 'not a url', maxQueue: 0, topicPrefix: 'tp/#' });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DebugQueueError);
  const e = error as DebugQueueError;
  expect(e.code).toBe('CONFIG');
  for (const part of ['url (DEBUG_QUEUE_URL)', 'lokiUrl', 'maxQueue', 'topicPrefix'])
    expect(e.message).toContain(part);
});

test('log() never throws and never queues what TracePulse would refuse', () => {
  const errors: string[] = [];
  const q = createDebugQueue({
    url: 'http://127.0.0.1:9',
    silent: true,
    onError: (e) => errors.push(e.message),
  });
  const circular: Record<string, unknown> = { module: 'EvseManager' };
  circular.self = circular;
  const hostile = {
    get connectorId(): string {
      throw new Error('getter blew up');
    },
  };
  const calls: Array<() => void> = [
    () =>
      q.log(undefined as unknown as string, undefined as unknown as { service: string; errorCode: string }),
    () => q.log('SESSION_DROP', null as unknown as { service: string; errorCode: string }),
    () => q.log('', { service: 'ocpp', errorCode: 'InternalError' }),
    () => q.log('SESSION_DROP', { service: '  ', errorCode: 'InternalError' }),
    () => q.log('SESSION_DROP', { service: 'ocpp', errorCode: 'InternalError', details: hostile }),
    () => q.logLine('loud' as 'warn', 'x', { service: 'ocpp' }),
  ];
  for (const call of calls) expect(call).not.toThrow();
  expect(q.stats().invalid).toBe(6);
  expect(errors).toHaveLength(1); // said once, not per call
  expect(() =>
    q.log('SESSION_DROP', {
      service: 'ocpp',
      errorCode: 'InternalError',
      details: circular as unknown as Record<string, string>,
    }),
  ).not.toThrow();
  expect(q.stats().accepted).toBe(1);
  void q.close(10);
});

test('configFromEnv maps the DEBUG_QUEUE_* variables', () => {
  expect(
    configFromEnv({
      DEBUG_QUEUE_URL: 'mqtts://gateway.local:8883',
      DEBUG_QUEUE_API_KEY: 'k1',
      DEBUG_QUEUE_TOPIC_PREFIX: 'station-01/tracepulse',
      DEBUG_QUEUE_LOKI_URL: 'http://loki:3100',
      DEBUG_QUEUE_LOKI_LABELS: 'station=EV-Station-01, site=depot-north',
      DEBUG_QUEUE_SPOOL_FILE: '/var/lib/everest/debug-queue.spool',
      DEBUG_QUEUE_MAX_QUEUE: '2000',
      DEBUG_QUEUE_LOKI_TENANT: '',
    }),
  ).toEqual({
    url: 'mqtts://gateway.local:8883',
    apiKey: 'k1',
    topicPrefix: 'station-01/tracepulse',
    lokiUrl: 'http://loki:3100',
    lokiLabels: { station: 'EV-Station-01', site: 'depot-north' },
    lokiTenant: undefined,
    spoolFile: '/var/lib/everest/debug-queue.spool',
    maxQueue: 2000,
  });
});
