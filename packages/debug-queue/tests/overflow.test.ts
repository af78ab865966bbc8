import { expect, setDefaultTimeout, test } from 'bun:test';
import { BoundedQueue } from '../src/bounded-queue.ts';
import { createDebugQueue, type DropInfo } from '../src/index.ts';
import type { Item } from '../src/types.ts';
import { freePort, startTracePulse } from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

test('a full queue drops the oldest low-priority events first, counts every drop, and delivers the rest', async () => {
  const port = await freePort();
  const drops: DropInfo[] = [];
  const q = createDebugQueue({
    url: `http://127.0.0.1:${port}`,
    maxQueue: 10,
    retryInitialMs: 20,
    retryMaxMs: 200,
    silent: true,
    onDrop: (d) => drops.push(d),
  });
  const log = (name: string, priority: 'high' | 'low') =>
    q.log(
      priority === 'high' ? 'CONTACTOR_WELDED' : 'METER_VALUE_LATE',
      {
        service: 'evse_manager_1',
        errorCode: priority === 'high' ? 'MREC17EVSEContactorFault' : 'PowerMeterFailure',
        correlationId: `ovf-${name}`,
      },
      { priority },
    );
  // All in one tick: nothing is in flight yet, so the outcome is exact.
  for (let i = 0; i < 6; i++) log(`L${i}`, 'low');
  for (let i = 0; i < 4; i++) log(`H${i}`, 'high'); // full: L0-L5, H0-H3
  for (let i = 4; i < 7; i++) log(`H${i}`, 'high'); // evicts L0 L1 L2
  log('L6', 'low'); // a low one replaces the oldest low one: evicts L3
  for (let i = 7; i < 10; i++) log(`H${i}`, 'high'); // evicts L4 L5 L6
  log('L7', 'low'); // no low one left to evict: L7 itself is dropped
  log('H10', 'high'); // only high ones left: the oldest, H0, goes

  const s = q.stats().primary!;
  expect(s.dropped).toEqual({ high: 1, low: 8, total: 9 });
  expect(drops.map((d) => d.priority)).toEqual([...Array(8).fill('low'), 'high']);
  expect(drops.map((d) => d.what)).toEqual([...Array(8).fill('METER_VALUE_LATE'), 'CONTACTOR_WELDED']);
  expect(drops.at(-1)?.dropped).toBe(9);
  expect(s.queued).toBe(10);

  const tp = await startTracePulse({ port });
  try {
    expect(await q.flush(10_000)).toBe(true);
    const got = (await tp.events({ service: 'evse_manager_1' })).map((e) => e.correlationId).sort();
    const want = Array.from({ length: 10 }, (_, i) => `ovf-H${i + 1}`).sort();
    expect(got).toEqual(want);
    expect(q.stats().primary?.dropped.total).toBe(9);
    await q.close();
  } finally {
    await tp.dispose();
  }
});

test('items in flight are never evicted, and a failed batch goes back to the front in order', () => {
  const item = (key: string, priority: 'high' | 'low'): Item => ({
    kind: 'log',
    key,
    priority,
    seq: 0,
    body: { timestamp: 0, service: 'bsp', level: 'warn', message: key },
  });
  const q = new BoundedQueue(3);
  expect(q.push(item('a', 'low'))).toBeUndefined();
  expect(q.push(item('b', 'low'))).toBeUndefined();
  const batch = q.take(2);
  expect(batch.map((i) => i.key)).toEqual(['a', 'b']);
  expect(q.push(item('c', 'low'))).toBeUndefined();
  // full (2 in flight + c): a new low one can only evict c
  expect(q.push(item('d', 'low'))?.key).toBe('c');
  // and a new high one evicts the queued low one, never the ones in flight
  expect(q.push(item('e', 'high'))?.key).toBe('d');
  q.settle(0, batch);
  expect(q.inFlight).toBe(0);
  expect(q.snapshot().map((i) => i.key)).toEqual(['e', 'a', 'b']);
});
