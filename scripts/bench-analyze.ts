#!/usr/bin/env bun
/**
 * Trigger-to-report latency of the analysis pipeline (figures for docs/engine.md; not a test).
 *   npx bun scripts/bench-analyze.ts [--triggers 200] [--services 20,200,2000] [--lines 10000,1000000]
 * For each map size and store size: generates a layered system map, bulk-loads logs (24 h), events
 * and change records into a fresh SQLite store, then commits high-priority events one at a time
 * through the real ingest writer and measures commit -> report stored (report.latencyMs).
 * Prints a markdown table.
 */
import type { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMetrics } from '../src/core/metrics.ts';
import type { DebugEvent } from '../src/core/event.ts';
import { createLogger } from '../src/core/logger.ts';
import { systemClock } from '../src/core/clock.ts';
import { createAnalysisPipeline } from '../src/pipeline/analysis.ts';
import { createReportService } from '../src/pipeline/reports.ts';
import { createSystemMapSource } from '../src/sources/system-map-source.ts';
import { createChangesRepo } from '../src/store/changes-repo.ts';
import { openDatabase } from '../src/store/db.ts';
import { createLogPatterns } from '../src/store/log-patterns.ts';
import { createIngestWriter } from '../src/store/ingest-writer.ts';
import { mulberry32 } from '../packages/scenarios/src/prng.ts';

const { values } = parseArgs({
  options: {
    triggers: { type: 'string', default: '200' },
    services: { type: 'string', default: '20,200,2000' },
    lines: { type: 'string', default: '10000,1000000' },
    /** Keep generated stores in this directory and reuse them on the next run (faster iterations). */
    keep: { type: 'string' },
  },
});
const TRIGGERS = Number(values.triggers);
const DAY = 86_400_000;
const END = Date.UTC(2026, 10, 25, 12, 0, 0);

/** Small deterministic PRNG so runs are comparable. */
const rng = mulberry32;

const modules = [
  'EvseManager',
  'GenericPowermeter',
  'EvseSlac',
  'EvseV2G',
  'InfyPower',
  'PhyVersoBSP',
  'Bender_isoCHA425HV',
  'PN532TokenProvider',
  'OCPP',
  'EnergyManager',
  'PersistentStore',
  'SerialCommHub',
  'System',
  'Setup modem',
];
const name = (i: number) => `svc_${String(i).padStart(4, '0')}`;

/** A layered map: service i depends on 1-3 services in deeper layers (ids above it). */
function mapYaml(n: number, r: () => number): string {
  const lines = ['repo: EVerest/everest-core', 'triggers: [SESSION_DROP]', 'services:'];
  const layer = Math.max(2, Math.round(n / 10));
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const first = (Math.floor(i / layer) + 1) * layer;
    if (first < n)
      for (let k = 0, m = 1 + Math.floor(r() * 3); k < m; k++)
        deps.add(name(first + Math.floor(r() * Math.min(layer * 2, n - first))));
    lines.push(
      `  ${name(i)}:`,
      `    module: ${modules[i % modules.length]} instance ${i}`,
      `    aliases: [Svc${i}]`,
      `    files: [modules/${name(i)}/]`,
      `    functions: [${name(i)}::run, ${name(i)}::handle_request]`,
      `    depends_on: [${[...deps].join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const templates = [
  ['info', 'session {n}: state PrepareCharging -> Charging'],
  ['info', 'published meter value {n} Wh'],
  ['debug', 'heartbeat {n}'],
  ['warn', 'Modbus CRC error on read_register 0x{n}'],
  ['warn', 'slow response from peer after {n} ms'],
  ['error', 'timeout waiting for reply to request {n}'],
  ['error', 'CAN rx timeout on can0 after {n} ms'],
  ['fatal', 'terminate called after throwing std::runtime_error {n}'],
] as const;
const levelNo = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 } as const;
const pick = () => {
  // 85% info/debug, 10% warn, 4.5% error, 0.5% fatal: roughly a healthy station's mix.
  const x = Math.random();
  const t =
    x < 0.6
      ? templates[0]
      : x < 0.8
        ? templates[1]
        : x < 0.85
          ? templates[2]
          : x < 0.9
            ? templates[3]
            : x < 0.95
              ? templates[4]
              : x < 0.975
                ? templates[5]
                : x < 0.995
                  ? templates[6]
                  : templates[7];
  return t;
};

/** Bulk-loads 24 h of logs, some events and 300 change records in a few transactions. */
function generate(db: Database, services: number, lineCount: number, r: () => number) {
  const insLog = db.prepare(
    'INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, ?, ?, ?, ?, NULL, ?)',
  );
  db.transaction(() => {
    for (let i = 0; i < lineCount; i++) {
      const ts = END - DAY + Math.floor((i / lineCount) * DAY);
      const [level, msg] = pick();
      const svc = name(Math.floor(r() * services));
      // 30% of lines belong to a charging session (about 40 lines per session id).
      const corr = r() < 0.3 ? `sess-${Math.floor(ts / 120_000)}-${Math.floor(r() * 10)}` : null;
      insLog.run(
        ts,
        svc,
        levelNo[level],
        msg.replace('{n}', String(Math.floor(r() * 100_000))),
        corr,
        'http',
      );
    }
  })();
  const insEvent = db.prepare(
    `INSERT INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source)
     VALUES (?, ?, ?, ?, ?, '{}', 'low', ?, ?, NULL, 'http')`,
  );
  db.transaction(() => {
    for (let i = 0; i < Math.max(100, lineCount / 100); i++) {
      const ts = END - DAY + Math.floor(r() * DAY);
      insEvent.run(
        `hist-${i}`,
        r() < 0.5 ? 'SESSION_DROP' : 'METER_FAULT',
        name(Math.floor(r() * services)),
        r() < 0.5 ? 'TIMEOUT' : 'CommunicationFault',
        null,
        ts,
        ts,
      );
    }
  })();
  createChangesRepo(db).record(
    Array.from({ length: 300 }, (_, i) => ({
      id: `chg-${i}`,
      service: name(Math.floor(r() * services)),
      kind: (['deploy', 'config', 'firmware', 'commit'] as const)[i % 4]!,
      timestamp: END - Math.floor(r() * 7 * DAY),
      summary: `change ${i}: adjust retry timeout and buffer size`,
      files: [`modules/${name(Math.floor(r() * services))}/main.cpp`],
      diff: `@@ -1,3 +1,3 @@ void ${name(i % services)}::run()\n-  int timeout_ms = 1000;\n+  int timeout_ms = 300;\n${'+  // filler\n'.repeat(60)}`,
    })),
    END,
  );
}

async function run(services: number, lineCount: number) {
  const dir = values.keep
    ? join(values.keep, `${services}-${lineCount}`)
    : mkdtempSync(join(tmpdir(), 'tracepulse-bench-'));
  const reuse = values.keep !== undefined && existsSync(join(dir, 'tracepulse.db'));
  mkdirSync(dir, { recursive: true });
  const r = rng(services * 7919 + lineCount);
  const mapFile = join(dir, 'system-map.yaml');
  writeFileSync(mapFile, mapYaml(services, r));
  const db = openDatabase(join(dir, 'tracepulse.db'));
  if (reuse) {
    db.exec('DELETE FROM reports; DELETE FROM incidents; DELETE FROM report_revisions;');
    db.exec("DELETE FROM events WHERE id LIKE 'bench-%'");
  }

  const t0 = performance.now();
  if (!reuse) generate(db, services, lineCount, r);
  const loadMs = performance.now() - t0;
  // Steady state: a running service folds warn+ lines into pattern counts as they arrive.
  const t1 = performance.now();
  const patterns = createLogPatterns(db);
  while (patterns.indexPending() > 0);
  const indexMs = performance.now() - t1;
  const changes = createChangesRepo(db);

  const logger = createLogger({ level: 'error' });
  const metrics = createMetrics();
  const maps = createSystemMapSource({ path: mapFile, db, logger });
  const reports = createReportService({ db, clock: systemClock, logger, metrics });
  const pipeline = createAnalysisPipeline({
    db,
    clock: systemClock,
    logger,
    metrics,
    maps,
    reports,
    stationId: 'bench',
    loadEvent: () => null,
    changes,
    lookbackDays: 7,
    stormWindowS: 600,
  });
  const writer = createIngestWriter(db, {
    onEventsCommitted: (rs) => {
      for (const x of rs) if (x.inserted && x.event.priority === 'high') pipeline.enqueue(x.event);
    },
  });

  const latencies: number[] = [];
  let candidates = 0;
  const layer = Math.max(2, Math.round(services / 10));
  for (let i = 0; i < TRIGGERS; i++) {
    const ts = END - Math.floor(r() * 20 * 3_600_000);
    const event: DebugEvent = {
      id: `bench-${i}`,
      eventType: 'SESSION_DROP',
      service: `Svc${Math.floor(r() * layer)}`,
      errorCode: 'TIMEOUT',
      correlationId: `sess-${Math.floor(ts / 120_000)}-${Math.floor(r() * 10)}`,
      details: {},
      priority: 'high',
      timestamp: ts,
      receivedAt: ts,
      message: null,
      source: 'http',
    };
    await writer.writeEvent(event);
    await pipeline.idle();
    const rep = reports.list({ limit: 1 })[0]!;
    if (rep.eventId !== event.id) throw new Error('report missing');
    latencies.push(rep.latencyMs);
    candidates += maps.current().graph.candidates(maps.current().graph.resolve(event.service)!).length;
  }
  await pipeline.stop();
  maps.stop();
  db.close();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return {
    services,
    lineCount,
    loadS: loadMs / 1000,
    indexS: indexMs / 1000,
    candidates: Math.round(candidates / TRIGGERS),
    p50: q(0.5),
    p99: q(0.99),
    max: sorted.at(-1)!,
  };
}

const rows = [];
for (const s of values.services.split(',').map(Number))
  for (const l of values.lines.split(',').map(Number)) {
    const row = await run(s, l);
    process.stderr.write(
      `done: ${s} services, ${l} lines (load ${row.loadS.toFixed(1)} s, pattern catch-up ${row.indexS.toFixed(1)} s)\n`,
    );
    rows.push(row);
  }

const cpu = cpus()[0]?.model ?? '?';
console.log(
  `\nTrigger commit -> report stored, ${TRIGGERS} sequential triggers per row; ${cpus().length} CPUs (${cpu}), ${process.arch}, bun ${Bun.version}\n`,
);
console.log('| services | log lines | candidates/trigger | p50 ms | p99 ms | max ms |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.services} | ${r.lineCount.toLocaleString('en')} | ${r.candidates} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`,
  );
