import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningApp, startApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Scheduler } from '../../src/core/clock.ts';
import { createMemoryLogger } from '../../src/core/logger.ts';

export const repoRoot = join(import.meta.dir, '..', '..');
export const exampleMap = join(repoRoot, 'system-map.yaml');

export function tempDir(prefix = 'tracepulse-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestApp extends RunningApp {
  dataDir: string;
  logLines: string[];
  /** Stops the app and removes its data dir. */
  close(): Promise<void>;
}

/** Starts the real service in-process on a free port with a temporary data dir. */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { scheduler?: Scheduler } = {},
): Promise<TestApp> {
  const dataDir = env.TRACEPULSE_DATA_DIR ?? tempDir();
  const logger = createMemoryLogger();
  const app = await startApp(
    loadConfig({
      TRACEPULSE_PORT: '0',
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      ...env,
    }),
    { logger, scheduler: options.scheduler },
  );
  return Object.assign(app, {
    dataDir,
    logLines: logger.lines,
    close: async () => {
      await app.stop();
      if (!env.TRACEPULSE_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Polls until `check` returns a truthy value or the time is up. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** A realistic DC session drop, as EvseManager reports it. */
export const sessionDrop = (over: Record<string, unknown> = {}) => ({
  eventType: 'SESSION_DROP',
  service: 'SessionManager',
  errorCode: 'TIMEOUT',
  correlationId: 'txn-456',
  details: { userId: '123', sessionId: 'abc', edgeDevice: 'EV-Station-01', connector: '1' },
  priority: 'high',
  ...over,
});
