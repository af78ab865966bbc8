import type { Database } from 'bun:sqlite';

/** Small named values of the Redis sync (sync_state): cursors and this store's id. */
export interface SyncState {
  get(name: string): string | null;
  set(name: string, value: string): void;
  /** The value of `name`, created once with `make()` when absent. */
  ensure(name: string, make: () => string): string;
}

export function createSyncState(db: Database): SyncState {
  const get = db.prepare<{ value: string }, [string]>('SELECT value FROM sync_state WHERE name = ?');
  const put = db.prepare<unknown, [string, string]>(
    'INSERT INTO sync_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  );
  return {
    get: (name) => get.get(name)?.value ?? null,
    set: (name, value) => {
      put.run(name, value);
    },
    ensure(name, make) {
      const have = get.get(name)?.value;
      if (have !== undefined) return have;
      const v = make();
      put.run(name, v);
      return v;
    },
  };
}

/** Stored reports after `rowid`, oldest first: the order they are published to Redis in. */
export function reportIdsAfter(
  db: Database,
  rowid: number,
  limit: number,
): Array<{ rowid: number; id: string }> {
  return db
    .query<{ rowid: number; id: string }, [number, number]>(
      'SELECT rowid, id FROM reports WHERE rowid > ? ORDER BY rowid LIMIT ?',
    )
    .all(rowid, limit);
}

/** How many stored reports are after `rowid` (not yet published), and when the oldest was made. */
export function reportsAfter(db: Database, rowid: number): { count: number; oldestAt: number | null } {
  const r = db
    .query<{ n: number; oldest: number | null }, [number]>(
      'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM reports WHERE rowid > ?',
    )
    .get(rowid);
  return { count: r?.n ?? 0, oldestAt: r?.oldest ?? null };
}
