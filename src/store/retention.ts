import type { Database } from 'bun:sqlite';
import { statfsSync } from 'node:fs';
import { type Clock, type Scheduler, systemScheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

export interface RetentionPolicy {
  maxAgeMs: number;
  maxBytes: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
  bytesAfter: number;
}

/** Tables pruned by age, oldest first, with their time column. Features append their own. */
export const retentionTables: Array<{
  table: string;
  timeColumn: string;
  shrinkFirst?: boolean;
  /** Oldest-first order for size pruning when it is not timeColumn (an indexed equivalent). */
  orderBy?: string;
}> = [
  { table: 'logs', timeColumn: 'ts', shrinkFirst: true },
  { table: 'dead_letters', timeColumn: 'received_at', shrinkFirst: true },
  // By arrival, not the source's clock: a charger whose RTC was reset sends 1970 and must not lose
  // acknowledged events to the next retention run. seq is arrival order (AUTOINCREMENT).
  { table: 'events', timeColumn: 'received_at', orderBy: 'seq' },
  { table: 'github_etags', timeColumn: 'checked_at', shrinkFirst: true },
  { table: 'changes', timeColumn: 'ts' },
  { table: 'report_revisions', timeColumn: 'created_at' },
  { table: 'reports', timeColumn: 'created_at' },
  { table: 'incidents', timeColumn: 'updated_at' },
  { table: 'log_patterns', timeColumn: 'last_ts', shrinkFirst: true },
  // Idempotency keys of /api/logs batches: kept as long as the data (TRACEPULSE_RETENTION_DAYS,
  // at least a day), far longer than any sender retries one batch.
  { table: 'log_batches', timeColumn: 'received_at', shrinkFirst: true },
];

export const storeBytes = (db: Database): number => {
  const r = db
    .query<{ pages: number; free: number; size: number }, []>(
      'SELECT (SELECT page_count FROM pragma_page_count()) AS pages, (SELECT freelist_count FROM pragma_freelist_count()) AS free, (SELECT page_size FROM pragma_page_size()) AS size',
    )
    .get();
  const pages = r?.pages ?? 0;
  const free = r?.free ?? 0;
  const size = r?.size ?? 4096;
  return (pages - free) * size;
};

/**
 * Deletes rows past the age limit, then, while the store is over its size limit, the oldest
 * logs (the bulk of the data) in chunks, then the oldest events. Keeps a gateway's disk from filling.
 */
export function applyRetention(db: Database, policy: RetentionPolicy, now: number): RetentionResult {
  let deletedByAge = 0;
  let deletedBySize = 0;
  const cutoff = now - policy.maxAgeMs;
  for (const t of retentionTables) {
    deletedByAge += db.query(`DELETE FROM ${t.table} WHERE ${t.timeColumn} < ?`).run(cutoff).changes;
  }
  const order = [
    ...retentionTables.filter((t) => t.shrinkFirst),
    ...retentionTables.filter((t) => !t.shrinkFirst),
  ];
  for (const t of order) {
    const key = rowKey(db, t.table);
    for (let guard = 0; guard < 1000 && storeBytes(db) > policy.maxBytes; guard++) {
      const n = db
        .query(
          `DELETE FROM ${t.table} WHERE (${key}) IN (SELECT ${key} FROM ${t.table} ORDER BY ${t.orderBy ?? t.timeColumn} ASC LIMIT 5000)`,
        )
        .run().changes;
      deletedBySize += n;
      if (n === 0) break;
    }
  }
  if (deletedByAge + deletedBySize > 0) {
    db.exec('PRAGMA incremental_vacuum');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }
  return { deletedByAge, deletedBySize, bytesAfter: storeBytes(db) };
}

/**
 * The columns that name one row, to delete by: the rowid, or for a WITHOUT ROWID table (which has
 * none) its primary key, read from the schema so a feature's new table cannot get it wrong.
 */
function rowKey(db: Database, table: string): string {
  const info = db
    .query<{ wr: number }, [string]>('SELECT wr FROM pragma_table_list WHERE name = ?')
    .get(table);
  if (!info?.wr) return 'rowid';
  return db
    .query<{ name: string }, [string]>('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk')
    .all(table)
    .map((c) => c.name)
    .join(', ');
}

/**
 * Applies the policy 5 s after start (not during start-up) and every 15 minutes; a failure is logged
 * and the next run tries again.
 */
export function scheduleRetention(
  db: Database,
  deps: { policy: RetentionPolicy; clock: Clock; logger: Logger; scheduler?: Scheduler },
): { stop(): void } {
  const run = () => {
    try {
      const r = applyRetention(db, deps.policy, deps.clock.now());
      if (r.deletedByAge || r.deletedBySize) deps.logger.info('retention applied', { ...r });
    } catch (err) {
      deps.logger.error('retention failed', { error: String(err) });
    }
  };
  const scheduler = deps.scheduler ?? systemScheduler;
  const every = scheduler.every(15 * 60_000, run);
  const first = scheduler.after(5_000, run);
  return {
    stop() {
      every.cancel();
      // A service stopped within 5 s of starting must not prune a closed store.
      first.cancel();
    },
  };
}

/** Bytes the file system holding `dir` has free for us; null when it cannot be read. */
export function diskFreeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/**
 * The size bound enforced by volume written, not only by the 15-minute timer: after every
 * `checkEveryRows` committed rows (and after a failed commit) it compares the store with
 * TRACEPULSE_MAX_DB_MB and the disk with its reserve, and prunes at once when either is crossed.
 * Below the reserve the target shrinks by the missing space, so the disk keeps room for the WAL
 * (a delete needs WAL space too; on a completely full disk nothing can be pruned).
 */
export function createSizeGuard(
  db: Database,
  deps: {
    policy: RetentionPolicy;
    dir: string;
    reserveBytes: number;
    clock: Clock;
    logger: Logger;
    checkEveryRows?: number;
  },
): { noteCommitted(rows: number): void; noteFailed(): void } {
  const every = deps.checkEveryRows ?? 256;
  let rows = 0;
  let pending = false;
  const check = () => {
    pending = false;
    try {
      const bytes = storeBytes(db);
      const free = diskFreeBytes(deps.dir);
      const deficit = free === null ? 0 : Math.max(0, deps.reserveBytes - free);
      const maxBytes = Math.max(0, Math.min(deps.policy.maxBytes, bytes - deficit));
      if (bytes <= maxBytes && deficit === 0) return;
      const r = applyRetention(db, { ...deps.policy, maxBytes }, deps.clock.now());
      if (r.deletedBySize || r.deletedByAge)
        deps.logger.info('size bound applied', { ...r, freeBytes: diskFreeBytes(deps.dir) });
    } catch (err) {
      deps.logger.warn('size bound could not be applied', { error: String(err) });
    }
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    // After the commit's callbacks, not inside them.
    setTimeout(check, 0);
  };
  return {
    noteCommitted(n) {
      rows += n;
      if (rows < every) return;
      rows = 0;
      schedule();
    },
    noteFailed: schedule,
  };
}
