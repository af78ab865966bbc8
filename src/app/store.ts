import type { Database } from 'bun:sqlite';
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { isDiskFull, openStore, WAL_AUTOCHECKPOINT_PAGES } from '../store/db.ts';
import { diskFreeBytes } from '../store/retention.ts';
import { createWalCheckpointer, type WalCheckpointer } from '../store/wal-checkpointer.ts';
import { StartupError } from './startup-error.ts';

/** Opens the SQLite store in the data directory, with its WAL bound and background checkpoints. */
export function openAppStore(deps: {
  config: Config;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): { db: Database; dbPath: string; fullAtStart: string | null; checkpointer: WalCheckpointer } {
  const { config, logger } = deps;
  const dbPath = join(config.TRACEPULSE_DATA_DIR, 'tracepulse.db');
  let db: Database;
  let fullAtStart: string | null;
  // The WAL is on the same disk as the store: on a small store, checkpoint it at an eighth of the
  // bound (4000 pages, 16 MB, from 128 MB up) and cut it back to an eighth (4 to 64 MB), so both stay
  // near the bound. The default 512 MB store is as before.
  const walBytes = Math.min(WAL_AUTOCHECKPOINT_PAGES * 4096, (config.TRACEPULSE_MAX_DB_MB * 1024 * 1024) / 8);
  const autocheckpointPages = Math.max(256, Math.floor(walBytes / 4096));
  try {
    ({ db, fullAtStart } = openStore(dbPath, {
      sync: config.TRACEPULSE_SQLITE_SYNC,
      walLimitBytes: Math.min(64, Math.max(4, config.TRACEPULSE_MAX_DB_MB / 8)) * 1024 * 1024,
      autocheckpointPages,
    }));
  } catch (cause) {
    const full = isDiskFull(cause);
    throw new StartupError(
      full
        ? `disk full: cannot open the store ${dbPath} (free space on its file system)`
        : `cannot use the data directory ${config.TRACEPULSE_DATA_DIR} (TRACEPULSE_DATA_DIR): ${cause instanceof Error ? cause.message : String(cause)}`,
      full ? 74 : 73,
      { cause },
    );
  }
  if (fullAtStart)
    logger.warn(
      `disk full: the store at ${dbPath} is open read-only until space returns (reads and the UI work; writes get 503)`,
      { freeBytes: diskFreeBytes(config.TRACEPULSE_DATA_DIR) },
    );
  const checkpointer = createWalCheckpointer(db, dbPath, {
    autocheckpointPages,
    logger: logger.child('store'),
    metrics: deps.metrics,
    clock: deps.clock,
    scheduler: deps.scheduler,
    // A store opened on a full disk holds an exclusive lock: the worker's connection could not read it.
    ...(fullAtStart ? { startRowsPerSecond: Number.POSITIVE_INFINITY } : {}),
  });
  return { db, dbPath, fullAtStart, checkpointer };
}
