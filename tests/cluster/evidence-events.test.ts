// Shared event evidence against the real Redis (issue 13): events committed on one instance are
// readable by another for a trigger (the session's and the candidates'), each once, capped per
// stream, counted, and an instance does not read back its own (they are in its store).
import { afterAll, describe, expect, test } from 'bun:test';
import { createEvidenceStreams } from '../../src/cluster/evidence-streams.ts';
import { createRedisLink, type RedisLink } from '../../src/cluster/redis-link.ts';
import type { DebugEvent } from '../../src/core/event.ts';
import { systemScheduler } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';

const prefix = `tp-test-evev-${process.pid}-${Date.now().toString(36)}:`;
const logger = createLogger({ level: 'error' });
const links: RedisLink[] = [];
const instance = async (id: string, maxLen = 1000) => {
  const link = await createRedisLink({
    url: 'redis://127.0.0.1:6379',
    prefix,
    logger,
    scheduler: systemScheduler,
  });
  for (let i = 0; i < 100 && !link.connected(); i++) await Bun.sleep(20);
  links.push(link);
  const metrics = createMetrics();
  return {
    metrics,
    streams: createEvidenceStreams({ link, instanceId: id, maxLen, metrics, now: () => Date.now() }),
  };
};
afterAll(async () => {
  const keys = (await links[0]!.send('KEYS', [`${prefix}*`])) as string[];
  if (keys.length) await links[0]!.send('DEL', keys);
  for (const l of links) l.close();
});

const T = Date.now();
const event = (id: string, over: Partial<DebugEvent> = {}): DebugEvent => ({
  id,
  eventType: 'IMD_FAULT',
  service: 'imd',
  errorCode: 'SelfTest',
  correlationId: 'txn-1',
  details: {},
  priority: 'low',
  timestamp: T - 1000,
  receivedAt: T - 1000,
  message: 'insulation below limit',
  source: 'http',
  ...over,
});
const query = {
  correlationId: 'txn-1',
  services: ['imd'],
  since: T - 60_000,
  sessionSince: T - 60_000,
  until: T + 60_000,
  limit: 500,
};

describe('event evidence streams on Redis', () => {
  test("a peer reads an instance's events once each; the instance skips its own", async () => {
    const a = await instance('a');
    const b = await instance('b');
    a.streams.appendEvent(event('e1')); // in both streams: the session's and imd's
    a.streams.appendEvent(event('e2', { correlationId: null, message: null, service: 'IMD' }));
    a.streams.appendEvent(event('e3', { correlationId: 'txn-2', service: 'display' }));
    await Bun.sleep(200);
    expect(a.metrics.get('tracepulse_cluster_evidence_events_total')).toBe(3);
    const got = await b.streams.events.query(query);
    expect(got.map((e) => e.id).sort()).toEqual(['e1', 'e2']);
    expect(got.find((e) => e.id === 'e2')).toEqual({
      id: 'e2',
      ts: T - 1000,
      eventType: 'IMD_FAULT',
      service: 'IMD',
      errorCode: 'SelfTest',
      message: null,
      correlationId: null,
    });
    expect(got.find((e) => e.id === 'e1')?.message).toBe('insulation below limit');
    expect(await a.streams.events.query(query)).toEqual([]);
  });

  test("the session's events are read from further back than the candidates' (the window may stretch)", async () => {
    const a = await instance('old-a');
    const b = await instance('old-b');
    a.streams.appendEvent(event('s-old', { correlationId: 'txn-old', timestamp: T - 20 * 60_000 }));
    a.streams.appendEvent(
      event('c-old', { correlationId: null, service: 'dc_meter', timestamp: T - 20 * 60_000 }),
    );
    await Bun.sleep(200);
    // Entry ids are arrival times (now), so both entries are in range; the event times decide.
    const got = await b.streams.events.query({
      ...query,
      correlationId: 'txn-old',
      services: ['dc_meter'],
      since: T - 5 * 60_000,
      sessionSince: T - 60 * 60_000,
    });
    expect(got.map((e) => e.id)).toEqual(['s-old']);
  });

  test('each stream is capped (MAXLEN ~)', async () => {
    const a = await instance('cap-a', 100);
    const b = await instance('cap-b', 100);
    for (let i = 0; i < 2000; i++) a.streams.appendEvent(event(`c${i}`, { correlationId: 'txn-cap' }));
    await Bun.sleep(500);
    const len = Number(await links[0]!.send('XLEN', [`${prefix}ev:evcorr:txn-cap`]));
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(400);
    const got = await b.streams.events.query({ ...query, correlationId: 'txn-cap', services: [] });
    expect(got.length).toBe(len);
  });
});
