import { afterEach, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.ts';
import { createManualClock } from '../../src/core/clock.ts';
import { createMemoryLogger } from '../../src/core/logger.ts';
import { applyRetention, scheduleRetention, storeBytes } from '../../src/store/retention.ts';
import { tempDir } from '../helpers/test-app.ts';

const day = 86_400_000;
const now = Date.UTC(2026, 10, 25, 12);
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function seed(count: number, ageMs: (i: number) => number) {
  dir = tempDir();
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const log = db.prepare(
    'INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, ?, ?, ?, ?, NULL, ?)',
  );
  const ev = db.prepare(
    "INSERT INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source) VALUES (?, 'SESSION_DROP', 'evse_manager_1', 'MREC4OverCurrentFailure', ?, '{}', 'low', ?, ?, NULL, 'http')",
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const ts = now - ageMs(i);
      log.run(
        ts,
        'powermeter_ac',
        3,
        `GenericPowermeter: Modbus read_register 0x5000 failed, CRC mismatch (attempt ${i}) ${'x'.repeat(200)}`,
        `txn-${i}`,
        'mqtt',
      );
      if (i % 10 === 0) ev.run(`evt-${i}`, `txn-${i}`, ts, ts);
    }
  })();
  return db;
}

describe('retention', () => {
  test('scheduled: first 5 s after start, then every 15 min, on the injected timers; stop() cancels both', () => {
    const db = seed(100, (i) => (i < 40 ? 20 * day : day));
    const clock = createManualClock(now);
    const logger = createMemoryLogger();
    const count = () => db.query<{ n: number }, []>('SELECT count(*) AS n FROM logs').get()?.n;
    const policy = { maxAgeMs: 14 * day, maxBytes: 1e12 };
    const retention = scheduleRetention(db, { policy, clock, scheduler: clock, logger });
    clock.advance(4_999);
    expect(count()).toBe(100);
    clock.advance(1);
    expect(count()).toBe(60);
    // Rows that age past the limit go at the next 15-minute run, not before.
    db.run('UPDATE logs SET ts = ? WHERE rowid IN (SELECT rowid FROM logs LIMIT 10)', [
      now - 14 * day + 60_000,
    ]);
    clock.advance(60_000);
    expect(count()).toBe(60);
    clock.advance(15 * 60_000);
    expect(count()).toBe(50);
    retention.stop();
    db.run('UPDATE logs SET ts = ?', [now - 30 * day]);
    clock.advance(60 * 60_000);
    expect(count()).toBe(50);
  });

  test('deletes rows older than the age limit and keeps newer ones', () => {
    const db = seed(1000, (i) => (i < 400 ? 20 * day : day));
    const r = applyRetention(db, { maxAgeMs: 14 * day, maxBytes: 1e12 }, now);
    expect(r.deletedByAge).toBe(400 + 40);
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM logs').get()?.n).toBe(600);
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM events').get()?.n).toBe(60);
  });

  test('over the size limit, the oldest logs go first and the store shrinks under the limit', () => {
    const db = seed(20_000, (i) => (20_000 - i) * 1000);
    const before = storeBytes(db);
    const limit = Math.floor(before / 2);
    const r = applyRetention(db, { maxAgeMs: 365 * day, maxBytes: limit }, now);
    expect(r.deletedBySize).toBeGreaterThan(0);
    expect(r.bytesAfter).toBeLessThanOrEqual(limit);
    const oldest = db.query<{ ts: number }, []>('SELECT min(ts) AS ts FROM logs').get()?.ts ?? 0;
    const newest = db.query<{ ts: number }, []>('SELECT max(ts) AS ts FROM logs').get()?.ts ?? 0;
    expect(newest).toBe(now - 1000);
    expect(oldest).toBeGreaterThan(now - 20_000 * 1000);
    // Events are only touched once logs and dead letters are gone.
    expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM events').get()?.n).toBe(2000);
  });
});
