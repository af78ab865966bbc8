import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations.ts';

export interface Migration {
  /** Unique, stable name; applied once, in list order. */
  name: string;
  sql: string;
}

/** Pages of WAL after which the committing connection checkpoints (see wal-checkpointer.ts for the alternative). */
export const WAL_AUTOCHECKPOINT_PAGES = 4000;

/** How long a statement waits for another connection's lock (the WAL checkpointer's) before failing. */
export const BUSY_TIMEOUT_MS = 5000;

export interface StoreOptions {
  sync?: 'normal' | 'full';
  /** What the WAL file is cut back to after a checkpoint (default 64 MB; smaller on a small store). */
  walLimitBytes?: number;
  /** WAL pages that trigger a checkpoint (default WAL_AUTOCHECKPOINT_PAGES; fewer on a small store). */
  autocheckpointPages?: number;
}

/** Opens (creating if needed) the SQLite store in WAL mode and applies pending migrations. */
export function openDatabase(path: string, options: StoreOptions = {}): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  try {
    // Must precede the first table: lets retention give deleted pages back to the gateway's disk.
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    db.exec('PRAGMA journal_mode = WAL');
    configure(db, options);
    migrate(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Whether an error from SQLite or the file system means the disk is out of space. */
export const isDiskFull = (err: unknown): boolean =>
  /SQLITE_FULL|SQLITE_IOERR_SHMSIZE|SQLITE_IOERR_SHMMAP|ENOSPC|disk is full/i.test(
    `${String((err as { code?: unknown })?.code ?? '')} ${String(err)}`,
  );

/**
 * The service's store. On a full disk an existing store cannot be opened the normal way (the WAL
 * index file, -shm, cannot be sized), so it is opened in exclusive locking mode, which keeps the WAL
 * index in memory: reads work at once, writes fail with SQLITE_FULL until space returns and then
 * succeed on the same connection. `fullAtStart` is the error that forced it (null otherwise). In that
 * mode no other process (the CLI's `user add`) can open the store until the service restarts.
 */
export function openStore(
  path: string,
  options: StoreOptions = {},
): { db: Database; fullAtStart: string | null } {
  try {
    return { db: openDatabase(path, options), fullAtStart: null };
  } catch (cause) {
    if (!isDiskFull(cause) || !existsSync(path)) throw cause;
    const db = new Database(path, { strict: true });
    try {
      // Before the first access, or SQLite maps the -shm file after all.
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      db.exec('PRAGMA journal_mode = WAL');
      configure(db, options);
      // A store that needs a migration needs space for it: nothing to serve from until then.
      if (pendingMigrations(db, migrations).length) throw cause;
    } catch (err) {
      db.close();
      throw err;
    }
    return { db, fullAtStart: String(cause) };
  }
}

function configure(db: Database, options: StoreOptions): void {
  // WAL + NORMAL: a committed transaction survives a process crash (kill -9); FULL also survives power loss.
  db.exec(`PRAGMA synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  // Checkpoints (the only fsyncs under NORMAL) every 4000 pages instead of 1000: fewer, larger ones
  // cut the cost of a committed row by about a fifth under sustained ingest. The WAL file is cut back to
  // 64 MB (or walLimitBytes) after a checkpoint so a burst does not keep its disk space.
  db.exec(
    `PRAGMA wal_autocheckpoint = ${Math.floor(options.autocheckpointPages ?? WAL_AUTOCHECKPOINT_PAGES)}`,
  );
  db.exec(`PRAGMA journal_size_limit = ${Math.floor(options.walLimitBytes ?? 64 * 1024 * 1024)}`);
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA temp_store = MEMORY');
}

function pendingMigrations(db: Database, list: readonly Migration[]): Migration[] {
  const has = db
    .query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'schema_migrations'")
    .get();
  if (!has?.n) return [...list];
  const done = new Set(
    db
      .query<{ name: string }, []>('SELECT name FROM schema_migrations')
      .all()
      .map((r) => r.name),
  );
  return list.filter((m) => !done.has(m.name));
}

export function migrate(db: Database, list: readonly Migration[]): string[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const pending = pendingMigrations(db, list);
  if (!pending.length) return [];
  // All pending migrations in one transaction: a new store is created in one commit (faster first
  // start), and a failing migration leaves the store exactly at the version it had.
  const record = db.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)');
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.name, Date.now());
    }
  })();
  return pending.map((m) => m.name);
}
