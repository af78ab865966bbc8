import { afterEach, expect, test } from 'bun:test';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createMetrics } from '../../src/core/metrics.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createIngestWriter } from '../../src/store/ingest-writer.ts';
import { createWalCheckpointer } from '../../src/store/wal-checkpointer.ts';
import { tempDir, waitFor } from '../helpers/test-app.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const logger = createLogger({ level: 'error' });

function setup(options: { idleStopMs?: number; clock?: ReturnType<typeof createManualClock> } = {}) {
  dir = tempDir();
  const path = join(dir, 'tracepulse.db');
  const db = openDatabase(path);
  const metrics = createMetrics();
  const checkpointer = createWalCheckpointer(db, path, {
    autocheckpointPages: 4000,
    restartPages: 300,
    intervalMs: 20,
    startRowsPerSecond: 500,
    idleStopMs: options.idleStopMs ?? 60_000,
    logger,
    metrics,
    ...(options.clock ? { clock: options.clock, scheduler: options.clock } : {}),
  });
  const writer = createIngestWriter(db, { onCommitted: (n) => checkpointer.noteCommitted(n) });
  let seq = 0;
  // A burst as a metering service logs it: 50 warn lines per commit, ~250 bytes each.
  const burst = async (commits: number) => {
    for (let c = 0; c < commits; c++) {
      const lines = Array.from({ length: 50 }, () => ({
        timestamp: Date.now(),
        service: 'powermeter_dc',
        level: 'warn' as const,
        message: `LEM DCBM 400/600: meter value late by ${seq++} ms on connector 1 ${'-'.repeat(180)}`,
        correlationId: `txn-${seq % 97}`,
        attributes: null,
        source: 'mqtt' as const,
      }));
      await writer.writeLogs(lines);
    }
  };
  const autocheckpoint = () =>
    (db.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint;
  const walBytes = () => statSync(`${path}-wal`).size;
  return { db, metrics, checkpointer, burst, autocheckpoint, walBytes, count: () => seq };
}

test('sustained commits start the background thread, which keeps the WAL bounded without losing a row', async () => {
  const t = setup();
  expect(t.checkpointer.active).toBe(false);
  expect(t.autocheckpoint()).toBe(4000);

  const started = performance.now();
  while (!t.checkpointer.active && performance.now() - started < 10_000) await t.burst(20);
  expect(t.checkpointer.active).toBe(true);
  // Inline checkpoints are handed over only once the worker has its connection.
  await waitFor(() => t.autocheckpoint() === 0 || undefined);

  // ~250 MB of WAL traffic (the correlation index takes a page per line): with no checkpoint, or with
  // one the writer starves, the WAL holds all of it. Bounded: the 16 MB the inline checkpoints left
  // (the file is reused, not shrunk) plus what this deliberately extreme writer (~150 MB/s) adds while
  // one background pass runs; 23-39 MB seen, on a loaded CI machine too.
  let peak = 0;
  for (let i = 0; i < 40; i++) {
    await t.burst(20);
    peak = Math.max(peak, t.walBytes());
  }
  expect(peak).toBeLessThan(100 * 1024 * 1024);
  expect(t.metrics.get('tracepulse_wal_restarts_total')).toBeGreaterThan(0);
  expect(t.metrics.render()).toContain('tracepulse_wal_checkpoint_thread 1\n');

  await t.checkpointer.stop();
  expect(t.checkpointer.active).toBe(false);
  expect(t.autocheckpoint()).toBe(4000);
  expect(t.metrics.render()).toContain('tracepulse_wal_checkpoint_thread 0\n');
  const stored = t.db.query('SELECT COUNT(*) AS n FROM logs').get() as { n: number };
  expect(stored.n).toBe(t.count());
  expect((t.db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe(
    'ok',
  );
  t.db.close();
});

test('after a quiet spell the thread stops and SQLite checkpoints inline again', async () => {
  const clock = createManualClock();
  const t = setup({ idleStopMs: 300, clock });
  // 1,000 rows, then the next commit a second later: 1,050 rows/s over the window (the bound is 500).
  await t.burst(20);
  expect(t.checkpointer.active).toBe(false);
  clock.advance(1000);
  await t.burst(1);
  expect(t.checkpointer.active).toBe(true);
  await waitFor(() => t.autocheckpoint() === 0 || undefined);
  // The idle check runs every 300 ms; the thread stops at the first one more than 300 ms after the
  // last sustained second.
  clock.advance(300);
  expect(t.checkpointer.active).toBe(true);
  clock.advance(300);
  expect(t.checkpointer.active).toBe(false);
  expect(t.autocheckpoint()).toBe(4000);
  // A later burst starts it again.
  await t.burst(20);
  clock.advance(1000);
  await t.burst(1);
  expect(t.checkpointer.active).toBe(true);
  await t.checkpointer.stop();
  t.db.close();
});

test('a trickle of commits never starts it', async () => {
  const clock = createManualClock();
  const t = setup({ clock });
  // 50 rows every 200 ms: 250 rows/s, half the bound, for three seconds.
  for (let i = 0; i < 15; i++) {
    await t.burst(1);
    clock.advance(200);
  }
  expect(t.checkpointer.active).toBe(false);
  expect(t.autocheckpoint()).toBe(4000);
  // The same rows in one second do start it (so the trickle above is what kept it off).
  await t.burst(15);
  clock.advance(1000);
  await t.burst(1);
  expect(t.checkpointer.active).toBe(true);
  await t.checkpointer.stop();
  t.db.close();
});
