// Trigger claims against the real Redis (issue 13): one winner per event id, takeover when the
// winner dies (stops renewing) before its report, and "done" keeps late copies from being
// analysed again, including after a takeover.
import { afterAll, describe, expect, test } from 'bun:test';
import { createRedisLink, type RedisLink } from '../../src/cluster/redis-link.ts';
import { createTriggerClaims, type TriggerClaims } from '../../src/cluster/trigger-claims.ts';
import type { DebugEvent } from '../../src/core/event.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';

const prefix = `tp-test-claims-${process.pid}-${Date.now().toString(36)}:`;
const logger = createLogger({ level: 'error' });
const open: Array<{ link: RedisLink; claims: TriggerClaims }> = [];
const instance = async (id: string, ttlMs = 400) => {
  const link = await createRedisLink({ url: 'redis://127.0.0.1:6379', prefix, logger });
  for (let i = 0; i < 100 && !link.connected(); i++) await Bun.sleep(20);
  const metrics = createMetrics();
  const claims = createTriggerClaims({ link, instanceId: id, ttlMs, logger, metrics, now: () => Date.now() });
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

describe('trigger claims on Redis', () => {
  test('of several instances offered the same trigger, one analyses it; late copies after its report do not', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((n) => instance(n)));
    const ran: string[] = [];
    for (const [i, n] of nodes.entries()) n.claims.offer(event('ev-1'), () => ran.push(String(i)));
    await Bun.sleep(100);
    expect(ran.length).toBe(1);
    nodes[Number(ran[0])]!.claims.reported('ev-1');
    await Bun.sleep(1000); // past the TTL: the others checked and saw "done"
    expect(ran.length).toBe(1);
    const late = await instance('d');
    late.claims.offer(event('ev-1'), () => ran.push('late'));
    await Bun.sleep(100);
    expect(ran.length).toBe(1);
  });

  test('when the holder dies before its report, a waiting instance takes over once the claim expires', async () => {
    const a = await instance('a2');
    const b = await instance('b2');
    const ran: string[] = [];
    a.claims.offer(event('ev-2'), () => ran.push('a'));
    await Bun.sleep(50);
    b.claims.offer(event('ev-2'), () => ran.push('b'));
    await Bun.sleep(50);
    expect(ran).toEqual(['a']);
    // a dies: no renewals, no report.
    a.claims.stop();
    a.link.close();
    await Bun.sleep(1200);
    expect(ran).toEqual(['a', 'b']);
    expect(b.metrics.render()).toContain('tracepulse_cluster_claims_total{outcome="takeover"} 1');
    b.claims.reported('ev-2');
    await Bun.sleep(50);
    const c = await instance('c2');
    c.claims.offer(event('ev-2'), () => ran.push('c'));
    await Bun.sleep(100);
    expect(ran).toEqual(['a', 'b']);
  });

  test('a holder that is alive keeps its claim past the TTL by renewing it', async () => {
    const a = await instance('a3');
    const b = await instance('b3');
    const ran: string[] = [];
    a.claims.offer(event('ev-3'), () => ran.push('a'));
    await Bun.sleep(50);
    b.claims.offer(event('ev-3'), () => ran.push('b'));
    await Bun.sleep(1500); // several TTLs, a still analysing
    expect(ran).toEqual(['a']);
  });
});
