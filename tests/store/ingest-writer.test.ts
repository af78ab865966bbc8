import { Database } from 'bun:sqlite';
import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DebugEvent } from '../../src/core/event.ts';
import type { LogLine } from '../../src/core/log-line.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createIngestWriter } from '../../src/store/ingest-writer.ts';
import { tempDir } from '../helpers/test-app.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const t0 = Date.UTC(2026, 10, 25, 21, 40);
const meterLate = (i: number, id = `evt-meter-${i}`): DebugEvent => ({
  id,
  eventType: 'METER_VALUES_LATE',
  service: 'powermeter_dc',
  errorCode: 'CommunicationFault',
  correlationId: i % 3 ? `txn-${4471 + i}` : null,
  details: { connector: String(1 + (i % 2)), meterId: 'LEM-DCBM-4471' },
  priority: 'low',
  timestamp: t0 + i,
  receivedAt: t0 + i + 5,
  message: i % 2 ? `meter value ${i} late by 1200 ms` : null,
  source: 'mqtt',
});

function setup() {
  dir = tempDir();
  const path = join(dir, 'tracepulse.db');
  return { db: openDatabase(path), path };
}

test('a batch of any size is stored field for field, in one commit per event-loop turn', async () => {
  const { db, path } = setup();
  const writer = createIngestWriter(db);
  // 77 = 32 + 32 + 8 + 4 + 1: every chunk size of the multi-row insert.
  const events = Array.from({ length: 77 }, (_, i) => meterLate(i));
  const results = await Promise.all(events.map((e) => writer.writeEvent(e)));
  expect(results.every((r) => r.inserted)).toBe(true);

  // Resolved means committed: a second connection sees every row.
  const other = new Database(path, { readonly: true });
  const rows = other.query<Record<string, unknown>, []>('SELECT * FROM events ORDER BY seq').all();
  expect(rows.map((r) => r.id)).toEqual(events.map((e) => e.id));
  const r5 = rows[5]!;
  expect(r5).toMatchObject({
    event_type: 'METER_VALUES_LATE',
    service: 'powermeter_dc',
    error_code: 'CommunicationFault',
    correlation_id: 'txn-4476',
    details: '{"connector":"2","meterId":"LEM-DCBM-4471"}',
    priority: 'low',
    ts: t0 + 5,
    received_at: t0 + 10,
    message: 'meter value 5 late by 1200 ms',
    source: 'mqtt',
  });
  expect(rows[3]!.correlation_id).toBeNull();
  other.close();
  db.close();
});

test('an id already stored, or repeated within the batch, is reported as a duplicate and stored once', async () => {
  const { db } = setup();
  const writer = createIngestWriter(db);
  expect((await writer.writeEvent(meterLate(1, 'dq-7f3a'))).inserted).toBe(true);

  const batch = [
    meterLate(2, 'dq-7f3a'), // stored before
    meterLate(3, 'dq-8b21'),
    meterLate(4, 'dq-8b21'), // repeated in this batch
    meterLate(5, 'dq-9c40'),
  ];
  const results = await Promise.all(batch.map((e) => writer.writeEvent(e)));
  expect(results.map((r) => r.inserted)).toEqual([false, true, false, true]);
  const stored = db.query<{ id: string; ts: number }, []>('SELECT id, ts FROM events ORDER BY seq').all();
  // The first arrival wins: the repeat does not overwrite it.
  expect(stored).toEqual([
    { id: 'dq-7f3a', ts: t0 + 1 },
    { id: 'dq-8b21', ts: t0 + 3 },
    { id: 'dq-9c40', ts: t0 + 5 },
  ]);
  db.close();
});

test('a batch that cannot be committed rejects every write in it and leaves nothing behind', async () => {
  const { db } = setup();
  const writer = createIngestWriter(db);
  const broken = { ...meterLate(2), service: null } as unknown as DebugEvent; // violates NOT NULL
  const results = await Promise.allSettled([
    writer.writeEvent(meterLate(1)),
    writer.writeEvent(broken),
    writer.writeLogs([
      {
        timestamp: t0,
        service: 'powermeter_dc',
        level: 'warn',
        message: 'meter value late',
        correlationId: null,
        attributes: null,
        source: 'mqtt',
      },
    ]),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  expect(db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM events').get()!.n).toBe(0);
  expect(db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM logs').get()!.n).toBe(0);
  db.close();
});

// Log lines as the Setup module and libocpp log an LTE drop, posted by a station in one batch.
const lteDrop = (n: number, at = t0): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({
    timestamp: at + i * 250,
    service: i % 2 ? 'ocpp' : 'network',
    level: i % 2 ? 'warn' : 'error',
    message:
      i % 2
        ? `WebsocketPongTimeout: no pong within 30 s (attempt ${i})`
        : `wwan0: modem lost registration (${i})`,
    correlationId: 'txn-lte-4471',
    attributes: i % 2 ? null : { rssi: -109 },
    source: 'http',
  }));
const countLogs = (db: Database) => db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM logs').get()!.n;

test('a log batch repeated with its key in a later commit is reported as a duplicate and stored once', async () => {
  const { db } = setup();
  const writer = createIngestWriter(db);
  const key = 'b7e0c2a4-1f5d-4c8e-9a31-7d64f0e2b915';
  expect(await writer.writeLogs(lteDrop(5), { key, receivedAt: t0 + 2000 })).toEqual({
    accepted: 5,
    duplicate: false,
  });
  // The retry answers with the first count, even if the sender's body changed in between.
  expect(await writer.writeLogs(lteDrop(3), { key, receivedAt: t0 + 9000 })).toEqual({
    accepted: 5,
    duplicate: true,
  });
  expect(countLogs(db)).toBe(5);
  expect(db.query('SELECT key, accepted, received_at FROM log_batches').all()).toEqual([
    { key, accepted: 5, received_at: t0 + 2000 },
  ]);
  // Another key, and a batch without a key, are stored as usual.
  expect(await writer.writeLogs(lteDrop(2), { key: 'c1d2', receivedAt: t0 })).toEqual({
    accepted: 2,
    duplicate: false,
  });
  expect(await writer.writeLogs(lteDrop(4))).toBe(4);
  expect(countLogs(db)).toBe(11);
  db.close();
});

test('two batches with one key in the same commit: the first is stored, the second is a duplicate', async () => {
  const { db } = setup();
  const committed: number[] = [];
  const writer = createIngestWriter(db, { onCommitted: (rows) => committed.push(rows) });
  const batch = { key: 'station-HUB07-batch-0192', receivedAt: t0 };
  const results = await Promise.all([
    writer.writeLogs(lteDrop(3), batch),
    writer.writeLogs(lteDrop(7, t0 + 60_000), batch),
    writer.writeLogs(lteDrop(2), { key: 'station-HUB07-batch-0193', receivedAt: t0 }),
  ]);
  expect(results).toEqual([
    { accepted: 3, duplicate: false },
    { accepted: 3, duplicate: true },
    { accepted: 2, duplicate: false },
  ]);
  expect(committed).toEqual([5]); // one commit; the duplicate wrote no line
  const stored = db.query<{ ts: number }, []>('SELECT ts FROM logs ORDER BY id').all();
  expect(stored.map((r) => r.ts)).toEqual([t0, t0 + 250, t0 + 500, t0, t0 + 250]);
  db.close();
});

test('a keyed batch that fails to commit leaves no key behind, so its retry is stored', async () => {
  const { db } = setup();
  const writer = createIngestWriter(db);
  const batch = { key: '0f6b9e3c-5a2d-4e71-8c40-92ab1d7e3f58', receivedAt: t0 };
  const broken = [...lteDrop(2), { ...lteDrop(1)[0]!, service: null } as unknown as LogLine]; // NOT NULL
  // The key is inserted before the lines; the failing line rolls it back with them.
  await expect(writer.writeLogs(broken, batch)).rejects.toThrow('could not commit');
  expect(db.query('SELECT * FROM log_batches').all()).toEqual([]);
  expect(countLogs(db)).toBe(0);

  expect(await writer.writeLogs(lteDrop(3), batch)).toEqual({ accepted: 3, duplicate: false });
  expect(countLogs(db)).toBe(3);
  db.close();
});
