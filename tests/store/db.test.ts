import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, openDatabase } from '../../src/store/db.ts';
import { migrations } from '../../src/store/migrations.ts';
import { tempDir } from '../helpers/test-app.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a new store is in WAL mode with every migration recorded once; reopening applies nothing', () => {
  dir = tempDir();
  const path = join(dir, 'tracepulse.db');
  const db = openDatabase(path);
  expect((db.query('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
  const names = db
    .query<{ name: string }, []>('SELECT name FROM schema_migrations ORDER BY rowid')
    .all()
    .map((r) => r.name);
  expect(names).toEqual(migrations.map((m) => m.name));
  db.close();
  const again = openDatabase(path);
  expect(migrate(again, migrations)).toEqual([]);
  again.close();
});

test('a failing migration leaves the store at the version it had, and a fixed one applies later', () => {
  dir = tempDir();
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const next = [
    ...migrations,
    { name: '9001-connector-stats', sql: 'CREATE TABLE connector_stats (connector INTEGER PRIMARY KEY)' },
    { name: '9002-broken', sql: 'CREATE INDEX connector_stats_x ON connector_stats (no_such_column)' },
  ];
  expect(() => migrate(db, next)).toThrow();
  const tables = () =>
    db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE name = 'connector_stats'").all();
  expect(tables()).toEqual([]);
  expect(
    db.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM schema_migrations WHERE name LIKE '900%'").get()!
      .n,
  ).toBe(0);

  const fixed = [
    ...next.slice(0, -1),
    { name: '9002-connector-index', sql: 'CREATE INDEX connector_stats_c ON connector_stats (connector)' },
  ];
  expect(migrate(db, fixed)).toEqual(['9001-connector-stats', '9002-connector-index']);
  expect(tables()).toHaveLength(1);
  db.close();
});
