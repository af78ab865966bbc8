// Child process for wal-checkpointer-crash.test.ts: writes METER_VALUES events back to back through
// the ingest writer with the WAL checkpointer on, and prints "acked N" after each commit (every event
// up to N is committed) and "active" once the checkpoint thread runs. The test SIGKILLs it.
import { join } from 'node:path';
import type { DebugEvent } from '../../../src/core/event.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { openDatabase } from '../../../src/store/db.ts';
import { createIngestWriter } from '../../../src/store/ingest-writer.ts';
import { createWalCheckpointer } from '../../../src/store/wal-checkpointer.ts';

const path = join(process.argv[2] ?? '.', 'tracepulse.db');
const db = openDatabase(path);
const checkpointer = createWalCheckpointer(db, path, {
  autocheckpointPages: 4000,
  restartPages: 200,
  intervalMs: 20,
  startRowsPerSecond: 500,
  logger: createLogger({ level: 'error' }),
});
const writer = createIngestWriter(db, { onCommitted: (n) => checkpointer.noteCommitted(n) });
const event = (n: number): DebugEvent => ({
  id: `evt-${String(n).padStart(7, '0')}`,
  eventType: 'METER_VALUES_LATE',
  service: 'powermeter_dc',
  errorCode: 'CommunicationFault',
  correlationId: `txn-${n % 211}`,
  details: { connector: String(1 + (n % 2)), meterId: 'LEM-DCBM-4471', lateMs: String(1000 + (n % 900)) },
  priority: 'low',
  timestamp: Date.now(),
  receivedAt: Date.now(),
  message: null,
  source: 'mqtt',
});
let n = 0;
let saidActive = false;
for (;;) {
  const batch = Array.from({ length: 50 }, () => writer.writeEvent(event(++n)));
  await Promise.all(batch);
  process.stdout.write(`acked ${n}\n`);
  if (checkpointer.active && !saidActive) {
    saidActive = true;
    process.stdout.write('active\n');
  }
}
