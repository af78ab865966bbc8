import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.ts';
import { applyRetention, storeBytes } from '../../src/store/retention.ts';
import { tempDir } from '../helpers/test-app.ts';

const day = 86_400_000;
const now = Date.UTC(2026, 10, 25, 12);
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Idempotency keys of /api/logs batches, one every `stepMs` back from now, plus hourly log patterns. */
function seed(count: number, stepMs: number) {
  dir = tempDir();
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const key = db.prepare('INSERT INTO log_batches (key, accepted, received_at) VALUES (?, ?, ?)');
  const pattern = db.prepare(
    "INSERT INTO log_patterns (service, pattern, hour, count, first_ts, last_ts) VALUES ('powermeter_ac', ?, ?, 3, ?, ?)",
  );
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const at = now - (count - i) * stepMs;
      // Keys up to 200 characters are allowed: long ones make the keys the bulk of this store.
      key.run(`EV-Station-HUB07/session-manager/${'0192d7c4'.repeat(20)}/${i}`, 100, at);
      if (i % 10 === 0)
        pattern.run(
          `Modbus read_register 0x<n> failed, CRC mismatch ${i}`,
          Math.floor(at / 3_600_000),
          at,
          at,
        );
    }
  })();
  return db;
}

const keys = (db: ReturnType<typeof openDatabase>) =>
  db
    .query<{ n: number; oldest: number | null }, []>(
      'SELECT count(*) AS n, min(received_at) AS oldest FROM log_batches',
    )
    .get()!;

test('batch keys are kept for the retention age and deleted after it', () => {
  const db = seed(48, day / 2); // one key every 12 h over 24 days
  applyRetention(db, { maxAgeMs: 14 * day, maxBytes: 1e12 }, now);
  const left = keys(db);
  expect(left.n).toBe(28); // 14 days' worth
  expect(left.oldest).toBe(now - 28 * (day / 2));
  db.close();
});

test('over the size limit, keys and log patterns (WITHOUT ROWID tables) are pruned oldest first', () => {
  const db = seed(12_000, 60_000);
  const limit = Math.floor(storeBytes(db) / 3);
  // Before, the rowid-based delete threw "no such column: rowid" on these tables.
  const r = applyRetention(db, { maxAgeMs: 365 * day, maxBytes: limit }, now);
  expect(r.deletedBySize).toBeGreaterThan(0);
  expect(r.bytesAfter).toBeLessThanOrEqual(limit);
  const left = keys(db);
  expect(left.n).toBeGreaterThan(0);
  expect(left.n).toBeLessThan(12_000);
  expect(left.oldest).toBeGreaterThan(now - 12_000 * 60_000); // the oldest went first
  expect(db.query<{ n: number }, []>('SELECT count(*) AS n FROM log_patterns').get()!.n).toBe(0);
  db.close();
});
