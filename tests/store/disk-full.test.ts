// Issue 15: a full disk, on a small tmpfs: the store reports itself degraded, the size bound holds
// under a burst (not only every 15 minutes), and writes recover as soon as space returns.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

const root = process.getuid?.() === 0;
const mountDir = tempDir('tp-tmpfs-');
const mounted =
  root && Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mountDir]).exitCode === 0;
const dataDir = join(mountDir, 'data');
let app: TestApp;

beforeAll(async () => {
  if (!mounted) return;
  mkdirSync(dataDir);
  app = await startTestApp({
    TRACEPULSE_DATA_DIR: dataDir,
    TRACEPULSE_MAX_DB_MB: '16',
    TRACEPULSE_DISK_RESERVE_MB: '2',
  });
});
afterAll(async () => {
  if (!mounted) return;
  await app.close();
  Bun.spawnSync(['umount', '-l', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});

const line = (i: number) => ({
  service: 'ocpp',
  level: 'info',
  message: `WebsocketPongTimeout: no pong within 30 s, reconnecting to wss://csms.example-cpo.eu/ocpp/HUB07 attempt ${i} ${'x'.repeat(900)}`,
});
const postLogs = (from: number, n: number) =>
  fetch(`${app.url}/api/logs`, {
    method: 'POST',
    body: Array.from({ length: n }, (_, k) => JSON.stringify(line(from + k))).join('\n'),
  });
const health = async () => {
  const r = await fetch(`${app.url}/healthz`);
  return {
    status: r.status,
    body: (await r.json()) as { status: string; components: { store: Record<string, unknown> } },
  };
};
const storeBytesMetric = async () =>
  Number(/^tracepulse_store_bytes (\d+)/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1]);

describe.skipIf(!mounted)('on a 40 MB tmpfs', () => {
  test('a burst of 34 MB of logs keeps the store within TRACEPULSE_MAX_DB_MB, without waiting for the timer', async () => {
    for (let i = 0; i < 600; i++) expect((await postLogs(i * 60, 60)).status).toBe(200);
    await waitFor(async () => (await storeBytesMetric()) <= 16 * 1024 * 1024, 5000, 'store within 16 MB');
    expect((await health()).body.status).toBe('ok');
  }, 60_000);

  test('with the disk full, /healthz and /metrics say the store is degraded; freeing space recovers writes', async () => {
    // Ballast: fill what is left of the disk.
    const ballast = join(mountDir, 'ballast');
    try {
      writeFileSync(ballast, Buffer.alloc(64 * 1024 * 1024));
    } catch {
      // ENOSPC: the ballast took all that was left, as intended.
    }
    // The store probes every second and recovers by itself once pruning has made room inside its
    // own file, so a probe can land between the two reads: then the disk is filled again (the
    // ballast stays) and both are read again. Each round first makes a write fail.
    let seen: { h: Awaited<ReturnType<typeof health>>; metrics: string } | null = null;
    let offset = 100_000;
    for (let round = 0; round < 5 && !seen; round++) {
      let failed = false;
      for (let i = 0; i < 50 && !failed; i++) {
        failed = (await postLogs(offset, 60)).status >= 500;
        offset += 60;
      }
      expect(failed).toBe(true);
      const [h, metrics] = await Promise.all([health(), fetch(`${app.url}/metrics`).then((r) => r.text())]);
      if (h.status === 503 && /^tracepulse_store_writable 0$/m.test(metrics)) seen = { h, metrics };
    }
    expect(seen?.h.body.status).toBe('degraded');
    expect(seen?.h.body.components.store.writable).toBe(false);
    expect(seen?.metrics).toMatch(/^tracepulse_store_writable 0$/m);

    rmSync(ballast);
    await waitFor(async () => (await postLogs(200_000, 5)).status === 200, 10_000, 'writes recover');
    const after = await health();
    expect([after.status, after.body.status, after.body.components.store.writable]).toEqual([
      200,
      'ok',
      true,
    ]);
  }, 60_000);
});
