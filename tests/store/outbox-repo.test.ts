import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { Database } from 'bun:sqlite';
import { rmSync } from 'node:fs';
import { openDatabase } from '../../src/store/db.ts';
import { createOutboxRepo, type NewOutboxMessage, type OutboxRepo } from '../../src/store/outbox-repo.ts';

let db: Database;
let repo: OutboxRepo;
beforeEach(() => {
  db = openDatabase(':memory:');
  repo = createOutboxRepo(db);
});
afterEach(() => db.close());

const msg = (over: Partial<NewOutboxMessage> = {}): NewOutboxMessage => ({
  channel: 'slack',
  kind: 'created',
  reportId: 'rep-0001',
  incidentId: null,
  key: `slack:rep-0001:created`,
  payload: { kind: 'created', report: { id: 'rep-0001' } },
  ...over,
});

describe('outbox repository', () => {
  test('the same key is written once; the head is the oldest undelivered row of its channel', () => {
    expect(repo.enqueue(msg(), 1000, 100)).toBe('inserted');
    expect(repo.enqueue(msg(), 1001, 100)).toBe('duplicate');
    expect(repo.enqueue(msg({ key: 'slack:rep-0002:created', reportId: 'rep-0002' }), 1002, 100)).toBe(
      'inserted',
    );
    expect(repo.enqueue(msg({ channel: 'email', key: 'email:rep-0001:created' }), 1003, 100)).toBe(
      'inserted',
    );
    expect(repo.head('slack')?.reportId).toBe('rep-0001');
    expect(repo.head('email')?.key).toBe('email:rep-0001:created');
    expect(repo.head('llm')).toBeNull();
  });

  test('claim, then sent: the next row becomes the head; a sent row keeps its result', () => {
    repo.enqueue(msg(), 1000, 100);
    repo.enqueue(msg({ key: 'k2', reportId: 'rep-0002' }), 1000, 100);
    const head = repo.head('slack')!;
    expect(repo.claim(head.id, 1100)).toBe(true);
    expect(repo.claim(head.id, 1100)).toBe(false);
    expect(repo.head('slack')?.id).toBe(head.id); // in flight still holds the channel
    repo.markSent(head.id, 1200, { channel: 'C123', ts: '1.1' });
    expect(repo.get(head.id)).toMatchObject({
      status: 'sent',
      attempts: 1,
      sentAt: 1200,
      result: { channel: 'C123', ts: '1.1' },
    });
    expect(repo.head('slack')?.key).toBe('k2');
    expect(repo.byKey('slack:rep-0001:created')?.status).toBe('sent');
  });

  test('rows in flight at a crash are re-queued at start-up, flagged maybe-sent', () => {
    repo.enqueue(msg(), 1000, 100);
    const id = repo.head('slack')!.id;
    repo.claim(id, 1100);
    // A new process opens the same store.
    expect(repo.requeueInflight()).toBe(1);
    expect(repo.get(id)).toMatchObject({ status: 'pending', maybeSent: true, attempts: 1 });
  });

  test('retry bookkeeping: failures count only when asked, defer gives the try back, maybe-sent is sticky', () => {
    repo.enqueue(msg(), 1000, 100);
    const id = repo.head('slack')!.id;
    repo.claim(id, 1000);
    repo.markRetry(id, {
      nextAttemptAt: 2000,
      error: 'unreachable: ECONNREFUSED',
      countFailure: false,
      maybeSent: false,
    });
    repo.claim(id, 2000);
    repo.markRetry(id, {
      nextAttemptAt: 3000,
      error: 'transient: HTTP 503',
      countFailure: true,
      maybeSent: true,
    });
    repo.claim(id, 3000);
    repo.markRetry(id, { nextAttemptAt: 4000, error: 'unreachable', countFailure: false, maybeSent: false });
    expect(repo.get(id)).toMatchObject({ attempts: 3, failures: 1, maybeSent: true, nextAttemptAt: 4000 });
    repo.claim(id, 4000);
    repo.defer(id, 9000, 'deferred: budget');
    expect(repo.get(id)).toMatchObject({ status: 'pending', attempts: 3, nextAttemptAt: 9000 });
  });

  test('a dead row can be retried through the repository; sent rows cannot', () => {
    repo.enqueue(msg(), 1000, 100);
    const id = repo.head('slack')!.id;
    repo.claim(id, 1000);
    repo.markDead(id, 'permanent: channel_not_found', false);
    expect(repo.head('slack')).toBeNull();
    expect(repo.list({ status: 'dead' })).toHaveLength(1);
    expect(repo.retry(id, 5000)).toBe('ok');
    expect(repo.get(id)).toMatchObject({ status: 'pending', failures: 0, nextAttemptAt: 5000 });
    repo.claim(id, 5000);
    repo.markSent(id, 5001, null);
    expect(repo.retry(id, 6000)).toBe('conflict');
    expect(repo.retry(424242, 6000)).toBe('not_found');
  });

  test('an incident update folds into a still-unsent update of the same incident', () => {
    const inc = (count: number) =>
      msg({
        kind: 'incident',
        incidentId: 'inc-7',
        key: `slack:incident:inc-7:${count}`,
        payload: { count },
      });
    expect(repo.enqueue(inc(2), 1000, 100, true)).toBe('inserted');
    expect(repo.enqueue(inc(3), 1001, 100, true)).toBe('coalesced');
    expect(repo.enqueue(inc(4), 1002, 100, true)).toBe('coalesced');
    const rows = repo.list({ channel: 'slack' });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.payload).toEqual({ count: 4 });
    // Once a try may have gone out, the row is frozen and a new one is written.
    repo.claim(rows[0]!.id, 2000);
    expect(repo.enqueue(inc(5), 2001, 100, true)).toBe('inserted');
    // Without coalescing (fleet forwarding wants every member report) each update is its own row.
    expect(repo.enqueue({ ...inc(6), channel: 'mqtt', key: 'mqtt:incident:inc-7:6' }, 2002, 100)).toBe(
      'inserted',
    );
    expect(repo.enqueue({ ...inc(7), channel: 'mqtt', key: 'mqtt:incident:inc-7:7' }, 2003, 100)).toBe(
      'inserted',
    );
  });

  test('past the per-channel bound new messages are dropped, other channels unaffected', () => {
    for (let i = 0; i < 10; i++) expect(repo.enqueue(msg({ key: `k${i}` }), 1000, 10)).toBe('inserted');
    expect(repo.enqueue(msg({ key: 'k10' }), 1000, 10)).toBe('dropped');
    expect(repo.enqueue(msg({ key: 'e0', channel: 'email' }), 1000, 10)).toBe('inserted');
  });

  test('stats, oldest pending, and pruning of delivered and dead history', () => {
    repo.enqueue(msg({ key: 'a' }), 1000, 100);
    repo.enqueue(msg({ key: 'b' }), 2000, 100);
    repo.enqueue(msg({ key: 'c', channel: 'llm' }), 3000, 100);
    const a = repo.byKey('a')!;
    repo.claim(a.id, 1500);
    repo.markSent(a.id, 1600, null);
    const s = repo.stats();
    expect(s.counts).toContainEqual({ channel: 'slack', status: 'sent', n: 1 });
    expect(s.counts).toContainEqual({ channel: 'slack', status: 'pending', n: 1 });
    expect(s.oldestPending).toContainEqual({ channel: 'slack', createdAt: 2000 });
    expect(s.oldestPending).toContainEqual({ channel: 'llm', createdAt: 3000 });
    expect(repo.prune(1700)).toBe(1);
    expect(repo.byKey('a')).toBeNull();
    expect(repo.byKey('b')).not.toBeNull();
  });

  test('the table survives reopening the file (durable across restarts)', () => {
    const path = `${Bun.env.TMPDIR ?? '/tmp'}/tp-outbox-${Bun.randomUUIDv7()}.db`;
    const d1 = openDatabase(path);
    createOutboxRepo(d1).enqueue(msg(), 1000, 100);
    d1.close();
    const d2 = openDatabase(path);
    expect(createOutboxRepo(d2).head('slack')?.key).toBe('slack:rep-0001:created');
    d2.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  });
});
