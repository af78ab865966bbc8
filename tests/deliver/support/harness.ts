// Builds connected mode the way app.ts does, on a throw-away SQLite file, with short back-off
// settings so the tests never sleep long.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/config.ts';
import { type Clock, type Scheduler, systemClock } from '../../../src/core/clock.ts';
import { createMemoryLogger } from '../../../src/core/logger.ts';
import { createMetrics } from '../../../src/core/metrics.ts';
import type { ChangeSource } from '../../../src/core/ports.ts';
import { connectedModeFromConfig } from '../../../src/app/connected-mode.ts';
import type { Sink } from '../../../src/deliver/sink.ts';
import { llmAdapterFromConfig } from '../../../src/app/llm.ts';
import { openDatabase } from '../../../src/store/db.ts';
import { createIngestQueries } from '../../../src/store/ingest-queries.ts';
import { createFakeReports } from './fake-reports.ts';
import { testGraph } from './fixtures.ts';

export const fastOutbox = {
  TRACEPULSE_OUTBOX_BACKOFF_MS: '20',
  TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '150',
  TRACEPULSE_OUTBOX_TIMEOUT_MS: '1500',
  TRACEPULSE_PUBLIC_URL: 'http://gateway-site-042.local:3000/',
  TRACEPULSE_STATION_ID: 'EV-Station-01',
};

export async function startHarness(
  opts: {
    env?: Record<string, string>;
    sinks?: Sink[];
    dir?: string;
    changes?: ChangeSource;
    /** A manual clock for the outbox's time and timers (the default: the system's). */
    clock?: Clock & Scheduler;
  } = {},
) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tp-deliver-'));
  const db = openDatabase(join(dir, 'tracepulse.db'));
  const reports = createFakeReports(db);
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const config = loadConfig({ ...fastOutbox, ...opts.env });
  const graph = testGraph();
  const cm = await connectedModeFromConfig({
    config,
    db,
    clock: opts.clock ?? systemClock,
    scheduler: opts.clock,
    logger,
    metrics,
    stationId: 'EV-Station-01',
    graph: () => graph,
    reports,
    changes: opts.changes ?? null,
    events: createIngestQueries(db),
    sinks: opts.sinks,
    idlePollMs: 100,
    llm: llmAdapterFromConfig(config),
  });
  let stopped = false;
  return {
    dir,
    db,
    reports,
    logger,
    metrics,
    config,
    cm,
    /** Stops the worker and closes the store (the folder stays, for a restart). */
    async stop() {
      if (stopped) return;
      stopped = true;
      await cm.stop();
      db.close();
    },
    async cleanup() {
      await this.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when `check` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}
