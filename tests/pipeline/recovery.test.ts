import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DebugEvent } from '../../src/core/event.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createIngestWriter } from '../../src/store/ingest-writer.ts';
import { postJson, sessionDrop, startTestApp, tempDir, waitFor } from '../helpers/test-app.ts';

let dataDir = '';
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const reportsOf = async (url: string, correlationId: string) =>
  (
    (await (await fetch(`${url}/api/reports?correlationId=${correlationId}`)).json()) as {
      reports: Array<{ eventId: string }>;
    }
  ).reports;

/** What a crash leaves behind: events committed by the ingest writer, with no analysis having run. */
async function commitWithoutAnalysis(events: DebugEvent[]) {
  const db = openDatabase(join(dataDir, 'tracepulse.db'));
  const writer = createIngestWriter(db);
  await Promise.all(events.map((e) => writer.writeEvent(e)));
  db.close();
}

const committed = (id: string, over: Partial<DebugEvent>): DebugEvent => ({
  id,
  eventType: 'SESSION_DROP',
  service: 'EvseManager',
  errorCode: 'MREC4OverCurrentFailure',
  correlationId: null,
  details: { connector: '1' },
  priority: 'high',
  timestamp: Date.now() - 60_000,
  receivedAt: Date.now() - 60_000,
  message: 'DC output over current on connector 1, session stopped',
  source: 'mqtt',
  ...over,
});

test('a trigger committed before a crash gets its report at the next start; nothing else is re-analysed', async () => {
  dataDir = tempDir();
  // A first run: one trigger analysed normally.
  const first = await startTestApp({ TRACEPULSE_DATA_DIR: dataDir });
  const ack = await postJson(`${first.url}/webhook/event`, sessionDrop({ correlationId: 'txn-7001' }));
  expect(ack.status).toBe(200);
  await first.ctx.analysis.idle();
  expect(await reportsOf(first.url, 'txn-7001')).toHaveLength(1);
  await first.stop();

  // Then the crash: a trigger and a context event were committed, the process died before analysis.
  await commitWithoutAnalysis([
    committed('dq-crash-1', { correlationId: 'txn-7002' }),
    committed('dq-context-1', {
      correlationId: 'txn-7003',
      eventType: 'METER_VALUES_LATE',
      priority: 'low',
    }),
  ]);

  const second = await startTestApp({ TRACEPULSE_DATA_DIR: dataDir });
  const recovered = await waitFor(async () => {
    const r = await reportsOf(second.url, 'txn-7002');
    return r.length ? r : undefined;
  });
  expect(recovered.map((r) => r.eventId)).toEqual(['dq-crash-1']);
  await second.ctx.analysis.idle();
  expect(await reportsOf(second.url, 'txn-7001')).toHaveLength(1);
  expect(await reportsOf(second.url, 'txn-7003')).toHaveLength(0);
  expect(second.ctx.metrics.get('tracepulse_analysis_recovered_total')).toBe(1);
  await second.stop();

  // A third start finds nothing left to do.
  const third = await startTestApp({ TRACEPULSE_DATA_DIR: dataDir });
  await third.ctx.analysis.idle();
  expect(third.ctx.metrics.get('tracepulse_analysis_recovered_total')).toBe(0);
  expect(await reportsOf(third.url, 'txn-7002')).toHaveLength(1);
  await third.stop();
});
