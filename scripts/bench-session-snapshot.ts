#!/usr/bin/env bun
/**
 * What the report's session costs on the trigger path (figures for docs/ocpp.md; not a test).
 *   npx bun scripts/bench-session-snapshot.ts [--lines 2000] [--runs 200]
 * Stores one charging session of `lines` OCPP log lines (MeterValues and their responses, as the
 * OCPP adapter writes them) plus its trigger in a fresh SQLite store through the real writer, then
 * times createSessionSnapshot (the two correlation-index reads, the ordering, the gaps and the
 * condensing) `runs` times. Prints the median and p99.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DebugEvent } from '../src/core/event.ts';
import type { LogLine } from '../src/core/log-line.ts';
import { createSessionSnapshot } from '../src/pipeline/session-snapshot.ts';
import { openDatabase } from '../src/store/db.ts';
import { createIngestWriter } from '../src/store/ingest-writer.ts';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '2000' }, runs: { type: 'string', default: '200' } },
});
const LINES = Number(values.lines);
const RUNS = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'bench-session-'));
const db = openDatabase(join(dir, 'tracepulse.db'));
const writer = createIngestWriter(db);
const session = 'cp001:bench-session';
const t0 = Date.parse('2026-11-26T10:00:00Z');
const lines: LogLine[] = [];
for (let i = 0; i < LINES; i++) {
  const call = i % 2 === 0;
  lines.push({
    timestamp: t0 + Math.floor(i / 2) * 60_000 + (call ? 0 : 200),
    service: 'ocpp',
    level: 'info',
    message: call
      ? `OCPP cp->csms CALL MeterValues {"connectorId":1,"transactionId":77,"meterValue":[{"sampledValue":[{"value":"${1520400 + i * 90}"}]}]}`
      : 'OCPP csms->cp CALLRESULT MeterValues {}',
    correlationId: session,
    attributes: { chargePointId: 'cp001', action: 'MeterValues', messageType: call ? 'CALL' : 'CALLRESULT' },
    source: 'ocpp',
  });
}
for (let i = 0; i < lines.length; i += 500) await writer.writeLogs(lines.slice(i, i + 500));
const trigger: DebugEvent = {
  id: 'bench-trigger',
  eventType: 'SESSION_DROP',
  service: 'ocpp',
  errorCode: 'PowerLoss',
  correlationId: session,
  details: { chargePointId: 'cp001' },
  priority: 'high',
  timestamp: t0 + LINES * 30_000,
  receivedAt: t0 + LINES * 30_000,
  message: 'StopTransaction 77 with reason PowerLoss',
  source: 'ocpp',
};
await writer.writeEvent(trigger);

const snapshot = createSessionSnapshot(db);
const times: number[] = [];
let entries = 0;
for (let i = 0; i < RUNS; i++) {
  const a = performance.now();
  entries = snapshot(trigger)?.entries.length ?? 0;
  times.push(performance.now() - a);
}
times.sort((x, y) => x - y);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]?.toFixed(2);
console.log(`| session lines | runs | snapshot p50 / p99 | entries carried |`);
console.log(`|---|---|---|---|`);
console.log(`| ${LINES} | ${RUNS} | ${q(0.5)} / ${q(0.99)} ms | ${entries} |`);
db.close();
rmSync(dir, { recursive: true, force: true });
