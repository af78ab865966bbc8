import type { Database } from 'bun:sqlite';
import { statfsSync, statSync } from 'node:fs';
import { type Clock, type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { BUSY_TIMEOUT_MS } from './db.ts';

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
  { table: 'chat_report_reads', timeColumn: 'read_at', shrinkFirst: true },
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
export function applyRetention(
  db: Database,
  policy: RetentionPolicy,
  now: number,
  options: { lowSpace?: boolean } = {},
): RetentionResult {
  let deletedByAge = 0;
  let deletedBySize = 0;
  // On a nearly full disk every delete costs WAL space before it frees any: small steps, each
  // checkpointed and the WAL truncated, so the WAL never grows into the space being freed.
  const chunk = options.lowSpace ? 500 : 5000;
  const settle = () => {
    if (options.lowSpace) truncateWal(db);
  };
  const cutoff = now - policy.maxAgeMs;
  for (const t of retentionTables) {
    deletedByAge += db.query(`DELETE FROM ${t.table} WHERE ${t.timeColumn} < ?`).run(cutoff).changes;
  }
  settle();
  const order = [
    ...retentionTables.filter((t) => t.shrinkFirst),
    ...retentionTables.filter((t) => !t.shrinkFirst),
  ];
  for (const t of order) {
    const key = rowKey(db, t.table);
    for (let guard = 0; guard < 10_000 && storeBytes(db) > policy.maxBytes; guard++) {
      const n = db
        .query(
          `DELETE FROM ${t.table} WHERE (${key}) IN (SELECT ${key} FROM ${t.table} ORDER BY ${t.orderBy ?? t.timeColumn} ASC LIMIT ${chunk})`,
        )
        .run().changes;
      deletedBySize += n;
      settle();
      if (n === 0) break;
    }
  }
  if (deletedByAge + deletedBySize > 0) {
    if (options.lowSpace) {
      // Gives free pages back to the disk a megabyte at a time (each step moves pages through the WAL).
      for (let i = 0; i < 100_000 && freePages(db) > 0; i++) {
        db.exec('PRAGMA incremental_vacuum(256)');
        truncateWal(db);
      }
    } else db.exec('PRAGMA incremental_vacuum');
    truncateWal(db);
  }
  return { deletedByAge, deletedBySize, bytesAfter: storeBytes(db) };
}

const freePages = (db: Database): number =>
  db.query<{ n: number }, []>('SELECT freelist_count AS n FROM pragma_freelist_count()').get()?.n ?? 0;

/**
 * Copies the WAL into the database and cuts the WAL file to zero bytes. The WAL keeps its peak size
 * otherwise (it is reused, up to journal_size_limit), and on a full disk that space is what the
 * database needs. Returns whether it completed (busy readers or no room to grow the file: false).
 */
export function truncateWal(db: Database): boolean {
  // Not the usual 5 s busy wait: this runs on the thread that answers requests, and a checkpoint the
  // background thread is running now is as good.
  db.exec('PRAGMA busy_timeout = 50');
  try {
    const r = db.query<{ busy: number }, []>('PRAGMA wal_checkpoint(TRUNCATE)').get();
    return r?.busy === 0;
  } catch {
    return false;
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
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
 * `checkEveryBytes` written (about 1/32 of TRACEPULSE_MAX_DB_MB, at most 4 MiB) or `checkEveryRows`
 * committed rows, and after a failed commit, it compares the store with TRACEPULSE_MAX_DB_MB and the
 * disk with its reserve, and prunes at once when either is crossed. Below the reserve the target
 * shrinks by the missing space, so the disk keeps room for the WAL (a delete needs WAL space too; on
 * a completely full disk nothing can be pruned). While writes fail it checks again every
 * `retryMs` and probes the store, so writes are known to work again as soon as space returns.
 */
export function createSizeGuard(
  db: Database,
  deps: {
    policy: RetentionPolicy;
    dir: string;
    /**
     * The WAL file: on the same disk, so it counts against the bound. Its share is an eighth of the
     * bound (app.ts checkpoints it there); past that it is checkpointed and cut to zero.
     */
    walPath?: string;
    reserveBytes: number;
    clock: Clock;
    /** The checks after a commit and the retries while writes fail (tests advance a manual clock). */
    scheduler: Scheduler;
    logger: Logger;
    /** One small write; true when it committed. */
    probe: () => boolean;
    checkEveryRows?: number;
    checkEveryBytes?: number;
    retryMs?: number;
  },
): { noteCommitted(rows: number, bytes?: number): void; noteFailed(): void; stop(): void } {
  const everyRows = deps.checkEveryRows ?? 256;
  const everyBytes =
    deps.checkEveryBytes ?? Math.max(64 * 1024, Math.min(4 * 1024 * 1024, deps.policy.maxBytes / 32));
  const retryMs = deps.retryMs ?? 1000;
  let rows = 0;
  let bytes = 0;
  let pending: Timer | null = null;
  let failing = false;
  let stopped = false;
  let lastWarning = Number.NEGATIVE_INFINITY;
  let lastNotWritable = Number.NEGATIVE_INFINITY;
  const walAllowance = deps.walPath ? deps.policy.maxBytes / 8 : 0;
  const walBytes = () => {
    try {
      return deps.walPath ? statSync(deps.walPath).size : 0;
    } catch {
      return 0;
    }
  };
  const check = () => {
    pending = null;
    try {
      let free = diskFreeBytes(deps.dir);
      // Short of the reserve or past the bound, the WAL's own file comes back first: no row needs
      // to go for that.
      if ((free !== null && free < deps.reserveBytes) || walBytes() > walAllowance) {
        truncateWal(db);
        free = diskFreeBytes(deps.dir);
      }
      const size = storeBytes(db);
      const deficit = free === null ? 0 : Math.max(0, deps.reserveBytes - free);
      const maxBytes = Math.max(0, Math.min(deps.policy.maxBytes - walAllowance, size - deficit));
      if (size > maxBytes || deficit > 0) {
        const r = applyRetention(db, { ...deps.policy, maxBytes }, deps.clock.now(), {
          lowSpace: deficit > 0 || failing,
        });
        if (r.deletedBySize || r.deletedByAge)
          deps.logger.info('size bound applied', { ...r, freeBytes: diskFreeBytes(deps.dir) });
      }
    } catch (err) {
      // At most once a minute: a full disk makes this fail at every retry.
      const now = deps.clock.now();
      if (now - lastWarning >= 60_000) {
        lastWarning = now;
        deps.logger.warn('size bound could not be applied', { error: String(err) });
      }
    }
    if (!failing) return;
    if (deps.probe()) {
      failing = false;
      deps.logger.info('store writable again', { freeBytes: diskFreeBytes(deps.dir) });
    } else schedule(retryMs);
  };
  const schedule = (ms: number) => {
    if (pending || stopped) return;
    // After the commit's callbacks, not inside them.
    pending = deps.scheduler.after(ms, check);
  };
  return {
    noteCommitted(n, b = 0) {
      failing = false;
      rows += n;
      bytes += b;
      if (rows < everyRows && bytes < everyBytes) return;
      rows = 0;
      bytes = 0;
      schedule(0);
    },
    noteFailed() {
      const now = deps.clock.now();
      // Once a minute at most: on a nearly full disk commits can fail and succeed by turns.
      if (!failing && now - lastNotWritable >= 60_000) {
        lastNotWritable = now;
        deps.logger.warn('store not writable', { freeBytes: diskFreeBytes(deps.dir) });
      }
      failing = true;
      schedule(0);
    },
    stop() {
      stopped = true;
      pending?.cancel();
      pending = null;
    },
  };
}
