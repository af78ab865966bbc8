// Issue 15 defect 4: the size bound follows the volume written, not only the row count or a timer,
// and a store whose writes fail is probed until they work again.
import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createSizeGuard, storeBytes } from '../../src/store/retention.ts';
import { tempDir } from '../helpers/test-app.ts';

const MB = 1024 * 1024;
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l: string) => lines.push(l) }) };
};

function storeOf(bytes: number) {
  dir = tempDir('tp-size-guard-');
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const insert = db.prepare(
    "INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, 'ocpp', 3, ?, NULL, NULL, 'http')",
  );
  const message = `WebsocketLibwebsockets: pong timeout, closing connection ${'x'.repeat(16_000)}`;
  db.transaction(() => {
    for (let i = 0; storeBytes(db) < bytes; i++) for (let k = 0; k < 64; k++) insert.run(i * 64 + k, message);
  })();
  return db;
}

test('40 rows of 16 KB past the bound are enough to prune: the check follows bytes, not only 256 rows', async () => {
  const db = storeOf(17 * MB);
  const { logger } = quiet();
  const clock = createManualClock();
  const guard = createSizeGuard(db, {
    policy: { maxAgeMs: 14 * 86_400_000, maxBytes: 16 * MB },
    dir,
    reserveBytes: 0,
    clock,
    scheduler: clock,
    logger,
    probe: () => true,
  });
  // 512 KB written is the check's step at a 16 MB bound: 32 rows are short of it.
  guard.noteCommitted(32, 32 * 16_000);
  clock.advance(0);
  expect(storeBytes(db)).toBeGreaterThan(16 * MB);
  guard.noteCommitted(8, 8 * 16_000);
  // The check runs after the commit's callbacks, not inside them.
  expect(storeBytes(db)).toBeGreaterThan(16 * MB);
  clock.advance(0);
  expect(storeBytes(db)).toBeLessThanOrEqual(16 * MB);
  guard.stop();
  db.close();
});

test('while writes fail it probes again until they work, and says so once', async () => {
  dir = tempDir('tp-size-guard-');
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const { lines, logger } = quiet();
  const clock = createManualClock();
  let probes = 0;
  const guard = createSizeGuard(db, {
    policy: { maxAgeMs: 14 * 86_400_000, maxBytes: 16 * MB },
    dir,
    reserveBytes: 0,
    clock,
    scheduler: clock,
    logger,
    probe: () => ++probes >= 3,
    retryMs: 1000,
  });
  guard.noteFailed();
  guard.noteFailed();
  clock.advance(0);
  expect(probes).toBe(1);
  clock.advance(999);
  expect(probes).toBe(1);
  clock.advance(1);
  expect(probes).toBe(2);
  clock.advance(1000);
  expect(probes).toBe(3);
  expect(lines.some((l) => l.includes('store writable again'))).toBe(true);
  clock.advance(10_000);
  expect(probes).toBe(3);
  expect(lines.filter((l) => l.includes('store not writable'))).toHaveLength(1);
  guard.stop();
  db.close();
});
