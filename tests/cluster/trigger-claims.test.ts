// Trigger claims against the real Redis (issue 13): one winner per event id, takeover when the
// winner dies (stops renewing) before its report, and "done" keeps late copies from being
// analysed again, including after a takeover. The claims' own timers (renewals, takeover checks)
// run on a manual clock the tests advance; only the claim key's expiry is Redis's real time.
import { afterAll, describe, expect, test } from 'bun:test';
import { createRedisLink, type RedisLink } from '../../src/cluster/redis-link.ts';
import { createTriggerClaims, type TriggerClaims } from '../../src/cluster/trigger-claims.ts';
import { createManualClock, systemScheduler } from '../../src/core/clock.ts';
import type { DebugEvent } from '../../src/core/event.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';
import { waitFor } from '../helpers/test-app.ts';

const prefix = `tp-test-claims-${process.pid}-${Date.now().toString(36)}:`;
const logger = createLogger({ level: 'error' });
const open: Array<{ link: RedisLink; claims: TriggerClaims }> = [];
const clock = createManualClock(Date.now());
const instance = async (id: string, ttlMs = 400) => {
  // The link's reconnect watchdog stays on real time: it waits for the real Redis.
  const link = await createRedisLink({
    url: 'redis://127.0.0.1:6379',
    prefix,
    logger,
    scheduler: systemScheduler,
  });
  await waitFor(() => link.connected(), 2000, 'Redis connected');
  const metrics = createMetrics();
  const claims = createTriggerClaims({
    link,
    instanceId: id,
    ttlMs,
    logger,
    metrics,
    now: () => clock.now(),
    scheduler: clock,
  });
  const node = { link, claims, metrics };
  open.push(node);
  return node;
};
afterAll(async () => {
  const { link } = open[0]!;
  const keys = (await link.send('KEYS', [`${prefix}*`])) as string[];
  if (keys.length) await link.send('DEL', keys);
  for (const o of open) {
    o.claims.stop();
    o.link.close();
  }
});

const event = (id: string) =>
  ({ id, eventType: 'CABLE_CHECK_FAULT', service: 'evse_manager_1', priority: 'high' }) as DebugEvent;
const claimsCounted = (m: ReturnType<typeof createMetrics>) =>
  [...m.render().matchAll(/tracepulse_cluster_claims_total\{outcome="\w+"\} (\d+)/g)].reduce(
    (n, x) => n + Number(x[1]),
    0,
  );
/** Moves the clock one tick and lets every instance's tick finish its Redis round trips. */
const tick = async (ms: number) => {
  clock.advance(ms);
  await Bun.sleep(0);
  for (const o of open) if (o.link.connected()) await o.link.send('PING', []).catch(() => {});
  for (const o of open) if (o.link.connected()) await o.link.send('PING', []).catch(() => {});
};

describe('trigger claims on Redis', () => {
  test('of several instances offered the same trigger, one analyses it; late copies after its report do not', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((n) => instance(n)));
    const ran: string[] = [];
    for (const [i, n] of nodes.entries()) n.claims.offer(event('ev-1'), () => ran.push(String(i)));
    await waitFor(() => nodes.every((n) => claimsCounted(n.metrics) === 1), 2000, 'every offer answered');
    expect(ran.length).toBe(1);
    nodes[Number(ran[0])]!.claims.reported('ev-1');
    await waitFor(async () =>
      String(await nodes[0]!.link.send('GET', [`${prefix}claim:ev-1`])).startsWith('done:'),
    );
    // The waiting ones check at half the TTL and see "done".
    for (let i = 0; i < 3; i++) await tick(200);
    for (const n of nodes) expect(n.claims.state().waiting).toBe(0);
    expect(ran.length).toBe(1);
    const late = await instance('d');
    late.claims.offer(event('ev-1'), () => ran.push('late'));
    await waitFor(() => late.metrics.render().includes('tracepulse_cluster_claims_total{outcome="done"} 1'));
    expect(ran.length).toBe(1);
  });

  test('when the holder dies before its report, a waiting instance takes over once the claim expires', async () => {
    const a = await instance('a2');
    const b = await instance('b2');
    const ran: string[] = [];
    a.claims.offer(event('ev-2'), () => ran.push('a'));
    await waitFor(() => ran.length === 1);
    b.claims.offer(event('ev-2'), () => ran.push('b'));
    await waitFor(() => b.claims.state().waiting === 1);
    await tick(200); // b checks: still held
    expect(ran).toEqual(['a']);
    // a dies: no renewals, no report. Redis lets its claim expire (the TTL is Redis's own clock).
    a.claims.stop();
    a.link.close();
    await waitFor(
      async () => Number(await b.link.send('PTTL', [`${prefix}claim:ev-2`])) === -2,
      3000,
      'expiry',
    );
    await tick(200);
    await waitFor(() => ran.length === 2);
    expect(ran).toEqual(['a', 'b']);
    expect(b.metrics.render()).toContain('tracepulse_cluster_claims_total{outcome="takeover"} 1');
    b.claims.reported('ev-2');
    await waitFor(async () => String(await b.link.send('GET', [`${prefix}claim:ev-2`])).startsWith('done:'));
    const c = await instance('c2');
    c.claims.offer(event('ev-2'), () => ran.push('c'));
    await waitFor(() => claimsCounted(c.metrics) === 1);
    expect(ran).toEqual(['a', 'b']);
  });

  test('a holder that is alive keeps its claim past the TTL by renewing it', async () => {
    const ttl = 10_000;
    const a = await instance('a3', ttl);
    const b = await instance('b3', ttl);
    const key = `${prefix}claim:ev-3`;
    const ran: string[] = [];
    a.claims.offer(event('ev-3'), () => ran.push('a'));
    await waitFor(() => ran.length === 1);
    b.claims.offer(event('ev-3'), () => ran.push('b'));
    await waitFor(() => b.claims.state().waiting === 1);
    for (let i = 0; i < 12; i++) {
      // The key left to itself would be gone in a second: a's renewal each tick brings the TTL back.
      await a.link.send('PEXPIRE', [key, '1000']);
      await tick(ttl / 3);
      expect(Number(await a.link.send('PTTL', [key]))).toBeGreaterThan(5_000);
    }
    // Four TTLs on the clock, b checking every half TTL: a still analysing.
    expect(ran).toEqual(['a']);
    expect(b.claims.state().waiting).toBe(1);
  });
});
