// Issue 15 defect 4, through the compiled executable on a 40 MB tmpfs: a service that finds its disk
// full at start still starts, serves reads and the UI, says it is degraded, and takes writes again
// as soon as space returns (before: exit 73 "disk I/O error", no reads and no UI).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleMap, repoRoot, tempDir, waitFor } from '../helpers/test-app.ts';

const x64 = process.env.TRACEPULSE_TEST_BINARY ?? join(repoRoot, 'dist', 'tracepulse-linux-x64');
const root = process.getuid?.() === 0;
const mountDir = tempDir('tp-e2e-tmpfs-');
const mounted =
  root && Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mountDir]).exitCode === 0;
const dataDir = join(mountDir, 'data');
const ballast = join(mountDir, 'ballast');

beforeAll(() => {
  if (!mounted || existsSync(x64)) return;
  const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);
afterAll(() => {
  if (!mounted) return;
  Bun.spawnSync(['umount', '-l', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});

async function start(port: number) {
  const proc = Bun.spawn([x64, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      TRACEPULSE_API_KEYS: 'station-key-0123456789',
      TRACEPULSE_MAX_DB_MB: '16',
      TRACEPULSE_DISK_RESERVE_MB: '2',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
      try {
        return (await fetch(`${url}/healthz`)).status > 0;
      } catch {
        return false;
      }
    },
    10_000,
    'binary /healthz',
  );
  return { proc, url };
}

const auth = { authorization: 'Bearer station-key-0123456789', 'content-type': 'application/json' };
const event = (correlationId: string) =>
  JSON.stringify({
    eventType: 'SESSION_DROP',
    service: 'SessionManager',
    errorCode: 'TIMEOUT',
    correlationId,
    details: { sessionId: 'abc', edgeDevice: 'EV-Station-01' },
  });
const fill = () => {
  try {
    writeFileSync(ballast, Buffer.alloc(64 * 1024 * 1024));
  } catch {
    // ENOSPC: the ballast took all that was left, as intended.
  }
};

const logBatch = (n: number) =>
  Array.from({ length: 60 }, (_, k) =>
    JSON.stringify({
      service: 'powersupply_dc',
      level: 'info',
      message: `CanDevice::rx_handler frame ${n}.${k} module 3 output 652.4 V 31.2 A ${'x'.repeat(900)}`,
    }),
  ).join('\n');

describe.skipIf(!mounted)('compiled executable, data directory on a full 40 MB tmpfs', () => {
  test('after saturating log ingest and a disk filled by another file, writes work again once it is removed', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const port = 30000 + Math.floor(Math.random() * 20000);
    const svc = await start(port);
    try {
      const post = (n: number) =>
        fetch(`${svc.url}/api/logs`, { method: 'POST', headers: auth, body: logBatch(n) }).then(
          (r) => r.status,
        );
      let n = 0;
      const until = performance.now() + 6000;
      const poster = async () => {
        while (performance.now() < until) expect(await post(n++)).toBe(200);
      };
      await Promise.all([poster(), poster(), poster()]);
      fill();
      // The same load for 2 s on the full disk: refused (503), never a 200 that is not stored.
      let refused = 0;
      const fullUntil = performance.now() + 2000;
      const fullPoster = async () => {
        while (performance.now() < fullUntil) {
          const status = await post(n++);
          expect([200, 503]).toContain(status);
          if (status === 503) refused++;
        }
      };
      await Promise.all([fullPoster(), fullPoster(), fullPoster()]);
      expect(refused).toBeGreaterThan(0);
      rmSync(ballast);
      // Before: the WAL kept the space the store had used, a checkpoint ate what was freed and every
      // write failed until the disk was enlarged.
      await waitFor(async () => (await post(n++)) === 200, 10_000, 'writes recover once the file is removed');
    } finally {
      svc.proc.kill('SIGTERM');
      await svc.proc.exited;
      rmSync(ballast, { force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('starts read-only: reads, the UI, /healthz and /metrics degraded; writes return with space', async () => {
    mkdirSync(dataDir);
    const port = 30000 + Math.floor(Math.random() * 20000);
    let svc = await start(port);
    expect(
      (await fetch(`${svc.url}/webhook/event`, { method: 'POST', headers: auth, body: event('txn-before') }))
        .status,
    ).toBe(200);
    svc.proc.kill('SIGTERM');
    expect(await svc.proc.exited).toBe(0);

    fill();
    svc = await start(port);
    try {
      const h = await fetch(`${svc.url}/healthz`);
      const body = (await h.json()) as { status: string; components: { store: Record<string, unknown> } };
      expect([h.status, body.status, body.components.store.writable]).toEqual([503, 'degraded', false]);
      expect(await (await fetch(`${svc.url}/metrics`)).text()).toMatch(/^tracepulse_store_writable 0$/m);
      const events = (await (
        await fetch(`${svc.url}/api/events?correlationId=txn-before`, { headers: auth })
      ).json()) as { events: unknown[] };
      expect(events.events).toHaveLength(1);
      const login = await fetch(`${svc.url}/chat/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('<form');
      // A write is refused, not acknowledged.
      expect(
        (await fetch(`${svc.url}/webhook/event`, { method: 'POST', headers: auth, body: event('txn-full') }))
          .status,
      ).toBe(503);

      rmSync(ballast);
      await waitFor(
        async () =>
          (
            await fetch(`${svc.url}/webhook/event`, {
              method: 'POST',
              headers: auth,
              body: event('txn-after'),
            })
          ).status === 200,
        10_000,
        'writes recover once space returns',
      );
      const after = (await (await fetch(`${svc.url}/healthz`)).json()) as { status: string };
      expect(after.status).toBe('ok');
      const stored = (await (
        await fetch(`${svc.url}/api/events?correlationId=txn-after`, { headers: auth })
      ).json()) as { events: unknown[] };
      expect(stored.events).toHaveLength(1);
    } finally {
      svc.proc.kill('SIGTERM');
      await svc.proc.exited;
    }
  }, 60_000);
});
