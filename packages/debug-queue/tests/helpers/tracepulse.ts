import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dir, '../../../..');
export const packageRoot = resolve(import.meta.dir, '../..');

/** A port nothing listens on right now (bind 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A unique MQTT topic prefix per test run, so parallel runs on the shared broker do not collide. */
export function uniquePrefix(name: string): string {
  return `dq-test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface StoredEvent {
  id: string;
  eventType: string;
  service: string;
  errorCode: string;
  correlationId: string | null;
  details: Record<string, string>;
  priority: 'high' | 'low';
  timestamp: string;
  receivedAt: string;
  message: string | null;
  source: string;
}
export interface StoredLog {
  timestamp: string;
  service: string;
  level: string;
  message: string;
  correlationId: string | null;
  attributes: Record<string, unknown> | null;
  source: string;
}

export interface TracePulse {
  url: string;
  port: number;
  prefix: string;
  dataDir: string;
  events(query?: Record<string, string>): Promise<StoredEvent[]>;
  logs(query?: Record<string, string>): Promise<StoredLog[]>;
  /** Stops the process (SIGTERM); the data dir is kept so `start()` can bring the same instance back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
  output(): string;
}

export interface TracePulseOptions {
  port?: number;
  prefix?: string;
  mqttUrl?: string;
  apiKeys?: string[];
  /** Wait for the MQTT subscription before returning from start(). */
  waitMqtt?: boolean;
  /** More TRACEPULSE_* settings (e.g. an Elasticsearch source). */
  env?: Record<string, string>;
}

/**
 * Spawns the real TracePulse from src/main.ts (or the compiled binary named by
 * DQ_TRACEPULSE_BIN) with a temp data dir and a unique MQTT prefix and client id.
 */
export async function startTracePulse(options: TracePulseOptions = {}): Promise<TracePulse> {
  const port = options.port ?? (await freePort());
  const prefix = options.prefix ?? uniquePrefix('tp');
  const mqttUrl = options.mqttUrl ?? 'mqtt://127.0.0.1:1883';
  const dataDir = mkdtempSync(join(tmpdir(), 'dq-tracepulse-'));
  const url = `http://127.0.0.1:${port}`;
  const auth: Record<string, string> = options.apiKeys?.length
    ? { authorization: `Bearer ${options.apiKeys[0]}` }
    : {};
  let child: ChildProcess | undefined;
  let out = '';

  const start = async () => {
    const bin = process.env.DQ_TRACEPULSE_BIN;
    const [cmd, args] =
      bin && existsSync(bin)
        ? [bin, ['serve']]
        : [process.execPath, [join(repoRoot, 'src/main.ts'), 'serve']];
    child = spawn(cmd, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TRACEPULSE_PORT: String(port),
        TRACEPULSE_HOST: '127.0.0.1',
        TRACEPULSE_DATA_DIR: dataDir,
        TRACEPULSE_MQTT_URL: mqttUrl,
        TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
        TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-tracepulse`,
        TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
        TRACEPULSE_API_KEYS: (options.apiKeys ?? []).join(','),
        ...options.env,
      },
    });
    child.stdout?.on('data', (d) => {
      out += String(d);
    });
    child.stderr?.on('data', (d) => {
      out += String(d);
    });
    const proc = child;
    await waitFor(
      `TracePulse /healthz on ${url}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`TracePulse exited ${proc.exitCode}:\n${out}`);
        const res = await fetch(`${url}/healthz`);
        if (res.status !== 200) return false;
        const health = (await res.json()) as { components?: { mqtt?: { subscribed?: boolean } } };
        return !options.waitMqtt || health.components?.mqtt?.subscribed === true;
      },
      { timeoutMs: 15_000 },
    );
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const get = async <T>(path: string, query: Record<string, string>): Promise<T> => {
    const qs = new URLSearchParams({ limit: '1000', ...query });
    const res = await fetch(`${url}${path}?${qs}`, { headers: auth });
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  await start();
  return {
    url,
    port,
    prefix,
    dataDir,
    events: async (query = {}) => (await get<{ events: StoredEvent[] }>('/api/events', query)).events,
    logs: async (query = {}) => (await get<{ logs: StoredLog[] }>('/api/logs', query)).logs,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    output: () => out,
  };
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(name: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `dq-${name}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
