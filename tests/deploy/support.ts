// Shared helpers for the deployment tests: temp folders, free ports, child processes that are
// always cleaned up, and the compiled executables.
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Subprocess } from 'bun';

export const repoRoot = resolve(import.meta.dir, '../..');

/** True when `cmd` is on PATH. */
export function have(cmd: string): boolean {
  return Bun.which(cmd) !== null;
}

/** Creates a temp folder; `cleanup()` removes every folder made so far. */
export function createTempDirs(prefix: string) {
  const made: string[] = [];
  return {
    make(): string {
      const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
      made.push(dir);
      return dir;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** Resolves once `check` returns true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export async function portOpen(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** GET url; the status, or 0 when nothing answered. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Tracks spawned processes so a test can kill whatever it started, and only that. */
export function createProcessGroup() {
  const procs = new Set<Subprocess>();
  return {
    spawn(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
      const proc = Bun.spawn(cmd, {
        cwd: options.cwd,
        env: options.env,
        stdout: 'pipe',
        stderr: 'pipe',
      });
      procs.add(proc);
      void proc.exited.then(() => procs.delete(proc));
      return proc;
    },
    /** SIGKILLs every process of this group still running and waits for each. */
    async killAll(): Promise<void> {
      const running = [...procs];
      for (const p of running) p.kill('SIGKILL');
      await Promise.all(running.map((p) => p.exited));
    },
  };
}

/** Reads a piped stream to the end (for logs in failure messages). */
export async function drain(stream: ReadableStream<Uint8Array> | number | undefined): Promise<string> {
  if (!stream || typeof stream === 'number') return '';
  return new Response(stream).text();
}

export const dist = {
  x64: join(repoRoot, 'dist/tracepulse-linux-x64'),
  arm64: join(repoRoot, 'dist/tracepulse-linux-arm64'),
};

function newestSourceMtime(): number {
  let newest = statSync(join(repoRoot, 'package.json')).mtimeMs;
  for (const f of new Bun.Glob('src/**/*').scanSync({ cwd: repoRoot })) {
    newest = Math.max(newest, statSync(join(repoRoot, f)).mtimeMs);
  }
  return newest;
}

const built = new Map<string, Promise<string>>();
let ownBuildDir: string | null = null;

// One folder per test process: parallel runs never overwrite an executable another one runs.
function buildDir(): string {
  if (!ownBuildDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tracepulse-bin-'));
    // Readable by the unprivileged service user of the sandbox test.
    chmodSync(dir, 0o755);
    ownBuildDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return ownBuildDir;
}

/**
 * The compiled executable for `arch`: dist/tracepulse-linux-<arch> (what scripts/build makes and
 * the Dockerfiles copy) when it is newer than every source file, otherwise a fresh build of
 * src/main.ts into a folder of this test process, so tests never run a stale binary.
 */
export function compiledBinary(arch: 'x64' | 'arm64'): Promise<string> {
  let p = built.get(arch);
  if (!p) {
    p = build(arch);
    built.set(arch, p);
  }
  return p;
}

async function build(arch: 'x64' | 'arm64'): Promise<string> {
  const fromDist = dist[arch];
  if (existsSync(fromDist) && statSync(fromDist).mtimeMs > newestSourceMtime()) return fromDist;
  const out = join(buildDir(), `tracepulse-linux-${arch}`);
  // Through scripts/build itself, so the tests run what ships with the flags written in one place.
  const proc = Bun.spawn(['bash', join(repoRoot, 'scripts', 'build'), '--out', buildDir(), arch], {
    cwd: repoRoot,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, drain(proc.stdout), drain(proc.stderr)]);
  if (code !== 0) throw new Error(`building ${out} failed:\n${stdout}${stderr}`);
  return out;
}

export interface RunningServer {
  proc: Subprocess;
  port: number;
  url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** Collects a piped stream in the background so the child never blocks on a full pipe. */
function collect(stream: ReadableStream<Uint8Array> | number | undefined, into: string[]): void {
  if (!stream || typeof stream === 'number') return;
  void (async () => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      into.push(decoder.decode(r.value, { stream: true }));
    }
  })();
}

/**
 * Starts `tracepulse serve` (cmd is the executable plus any wrapper such as qemu) with its data
 * in dataDir and waits for GET /healthz to answer 200.
 */
export async function startServer(
  procs: ReturnType<typeof createProcessGroup>,
  cmd: string[],
  options: { dataDir: string; port?: number; env?: Record<string, string>; readyTimeoutMs?: number },
): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const proc = procs.spawn([...cmd, 'serve'], {
    cwd: options.dataDir,
    env: {
      PATH: process.env.PATH,
      HOME: options.dataDir,
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_DATA_DIR: options.dataDir,
      TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
      TRACEPULSE_STATION_ID: 'EV-Station-01',
      ...options.env,
    },
  });
  const out: string[] = [];
  collect(proc.stdout, out);
  collect(proc.stderr, out);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  while ((await httpStatus(`${url}/healthz`, 1000)) !== 200) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      await proc.exited;
      throw new Error(`tracepulse did not become healthy on ${port}:\n${out.join('')}`);
    }
    await Bun.sleep(50);
  }
  return { proc, port, url, output: () => out.join('') };
}

/** A DebugQueue event as EVerest-side tooling posts it. */
export function stationEvent(n: number, correlationId: string) {
  return {
    id: `${correlationId}-${n}`,
    eventType: 'CHARGING_FAULT',
    service: 'evse_manager_1',
    errorCode: 'MREC11CableCheckFault',
    correlationId,
    priority: n % 10 === 0 ? 'high' : 'low',
    timestamp: new Date(Date.UTC(2026, 4, 12, 8, 30, 0, n)).toISOString(),
    details: { connector: 1, evseId: 'EV-Station-01', vendorErrorCode: 'CX011', attempt: n },
  };
}
