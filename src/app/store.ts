import type { Database } from 'bun:sqlite';
import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { createSystemMapSource, type SystemMapSource } from '../sources/system-map-source.ts';
import { isDiskFull, openStore, WAL_AUTOCHECKPOINT_PAGES } from '../store/db.ts';
import { createIngestQueries, type IngestQueries } from '../store/ingest-queries.ts';
import { createIngestWriter, type IngestWriter } from '../store/ingest-writer.ts';
import {
  createSizeGuard,
  diskFreeBytes,
  type RetentionPolicy,
  scheduleRetention,
} from '../store/retention.ts';
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

/** The store stage as the service runs it; see startStore. */
export interface AppStore {
  db: Database;
  queries: IngestQueries;
  writer: IngestWriter;
  maps: SystemMapSource;
  retentionPolicy: RetentionPolicy;
  /** Called after a new high-priority event is committed. Handlers must not throw (a throw is logged). */
  onTrigger(handler: (event: DebugEvent) => void): void;
  /** Told the rows and bytes of each ingest commit (load signals: analysis's pattern indexing). */
  onCommitted(handler: (rows: number, bytes: number) => void): void;
  /** The retention timer (15 min), started last so a store that fails start-up is never pruned. */
  startRetention(): void;
  /** Stops the size bound and retention; first at shutdown. */
  stopBounds(): void;
  /** Flushes acknowledged writes, ends the WAL checkpointer and the map's file poll. */
  flush(): Promise<void>;
  /** Closes the database; last at shutdown. */
  close(): void;
}

/**
 * The store stage: the database, the ingest writer (its commits fanned out to the WAL checkpointer,
 * the size bound and the handlers registered later), the read queries, the system map, and the
 * size and age bounds.
 */
export function startStore(deps: {
  config: Config;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  metrics: Metrics;
}): AppStore {
  const { config, clock, scheduler, logger } = deps;
  const { db, dbPath, fullAtStart, checkpointer } = openAppStore(deps);
  const queries = createIngestQueries(db);
  const maps = createSystemMapSource({
    path: config.TRACEPULSE_SYSTEM_MAP,
    db,
    logger: logger.child('map'),
    scheduler,
  });

  const retentionPolicy = {
    maxAgeMs: config.TRACEPULSE_RETENTION_DAYS * 86_400_000,
    maxBytes: config.TRACEPULSE_MAX_DB_MB * 1024 * 1024,
  };
  const sizeGuard = createSizeGuard(db, {
    policy: retentionPolicy,
    walPath: `${dbPath}-wal`,
    dir: config.TRACEPULSE_DATA_DIR,
    reserveBytes: config.TRACEPULSE_DISK_RESERVE_MB * 1024 * 1024,
    clock,
    scheduler,
    logger: logger.child('store'),
    probe: () => writer.probe(),
  });
  const triggerHandlers: Array<(e: DebugEvent) => void> = [];
  // Told the rows of each ingest commit: the WAL checkpointer (load), the size bound and pattern indexing.
  const commitHandlers: Array<(rows: number, bytes: number) => void> = [
    checkpointer.noteCommitted,
    sizeGuard.noteCommitted,
  ];
  const writer = createIngestWriter(db, {
    onFailed: sizeGuard.noteFailed,
    failingAtStart: fullAtStart,
    onCommitted: (rows, bytes) => {
      for (const h of commitHandlers) h(rows, bytes);
    },
    onEventsCommitted: (results) => {
      for (const r of results) {
        if (!r.inserted || r.event.priority !== 'high') continue;
        for (const h of triggerHandlers) {
          try {
            h(r.event);
          } catch (err) {
            logger.error('trigger handler failed', { eventId: r.event.id, error: String(err) });
          }
        }
      }
    },
  });

  // Learn as soon as space is back, not only at the next write.
  if (fullAtStart) sizeGuard.noteFailed();

  let retention: { stop(): void } | null = null;
  return {
    db,
    queries,
    writer,
    maps,
    retentionPolicy,
    onTrigger: (h) => {
      triggerHandlers.push(h);
    },
    onCommitted: (h) => {
      commitHandlers.push(h);
    },
    startRetention() {
      retention = scheduleRetention(db, { policy: retentionPolicy, clock, scheduler, logger });
    },
    stopBounds() {
      retention?.stop();
      sizeGuard.stop();
    },
    async flush() {
      writer.flush();
      await checkpointer.stop();
      maps.stop();
    },
    close: () => db.close(),
  };
}
