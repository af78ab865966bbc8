// The compiled executable on a small tmpfs (root only: it mounts one), through a full disk:
// 1. saturating log and event ingest: the store (pages) within TRACEPULSE_MAX_DB_MB, and its files
//    with the WAL never filling the disk by themselves (their peak over the bound is reported);
// 2. the disk filled by another file under that load: writes refused (503), never acknowledged and lost;
// 3. the file removed: how long until writes work again;
// 4. a clean stop, the disk filled, a start: read-only (reads and the UI served, /healthz degraded),
//    then space back: how long until writes work again.
// At the end every acknowledged event must be in the store (events are pruned by size only after
// all logs, so none goes to the size bound here), and the store must pass its integrity check.
// Usage: sudo bun scripts/soak-disk-full.ts [--seconds N] [--disk-mb N] [--max-db-mb N]   (build first: scripts/build x64)
import { Database } from 'bun:sqlite';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = opt('seconds', 10);
const diskMb = opt('disk-mb', 40);
const maxDbMb = opt('max-db-mb', 16);
if (process.getuid?.() !== 0) {
  console.error('soak-disk-full mounts a tmpfs: run it as root');
  process.exit(2);
}

const root = join(import.meta.dir, '..');
const bin = process.env.TRACEPULSE_BINARY ?? join(root, 'dist', 'tracepulse-linux-x64');
const mountDir = mkdtempSync(join(tmpdir(), 'tp-soak-disk-'));
if (Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${diskMb}m`, 'tmpfs', mountDir]).exitCode !== 0)
  throw new Error(`cannot mount a tmpfs on ${mountDir}`);
// Unmounted however the run ends.
process.on('exit', () => {
  Bun.spawnSync(['umount', '-l', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});
const dataDir = join(mountDir, 'data');
mkdirSync(dataDir);
const ballast = join(mountDir, 'ballast');
const port = 30000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;
const dbPath = join(dataDir, 'tracepulse.db');

const start = async () => {
  const proc = Bun.spawn([bin, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
      TRACEPULSE_MAX_DB_MB: String(maxDbMb),
      TRACEPULSE_DISK_RESERVE_MB: '2',
      TRACEPULSE_LOG_LEVEL: 'warn',
    },
    stdout: 'ignore',
    stderr: process.env.SOAK_LOG ? Bun.file(process.env.SOAK_LOG) : 'ignore',
  });
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/healthz`);
      return proc;
    } catch {}
    if (proc.exitCode !== null) throw new Error(`the executable exited ${proc.exitCode} at start`);
    if (i > 400) throw new Error('the executable did not start');
    await Bun.sleep(25);
  }
};
const health = async () => ((await (await fetch(`${url}/healthz`)).json()) as { status: string }).status;
const fill = () => {
  try {
    writeFileSync(ballast, Buffer.alloc(diskMb * 1024 * 1024));
  } catch {
    // ENOSPC: the ballast took all that was left, as intended.
  }
};
const fileBytes = (p: string) => (existsSync(p) ? statSync(p).size : 0);

const acked = new Set<string>();
const statuses = new Map<number, number>();
let tried = 0;
let otherFiveXx = 0;
let seq = 0;
let maxStoreFiles = 0;
let atMax = { db: 0, wal: 0 };
let crashes = 0;

async function load(until: () => boolean, phase: string) {
  const events = async () => {
    while (!until()) {
      const id = `df-${seq++}`;
      tried++;
      const r = await fetch(`${url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id,
          eventType: 'POWER_MODULE_FAULT',
          service: 'powersupply_dc',
          errorCode: 'CanBusOff',
          correlationId: `txn-${id}`,
          priority: 'low',
        }),
      });
      count(r.status, phase);
      if (r.status === 200) acked.add(id);
      await r.arrayBuffer();
    }
  };
  const logs = async () => {
    while (!until()) {
      const body = Array.from({ length: 60 }, (_, k) =>
        JSON.stringify({
          service: 'powersupply_dc',
          level: 'info',
          message: `CanDevice::rx_handler frame 0x18${k} module 3 output 652.4 V 31.2 A ${'x'.repeat(900)}`,
        }),
      ).join('\n');
      tried += 60;
      const r = await fetch(`${url}/api/logs`, { method: 'POST', body });
      count(r.status, phase);
      await r.arrayBuffer();
    }
  };
  const sample = async () => {
    while (!until()) {
      const db = fileBytes(dbPath);
      const wal = fileBytes(`${dbPath}-wal`);
      if (db + wal > maxStoreFiles) [maxStoreFiles, atMax] = [db + wal, { db, wal }];
      await Bun.sleep(50);
    }
  };
  await Promise.all([events(), events(), logs(), logs(), logs(), sample()]);
}
const refusedWhileFull = { count: 0 };
function count(status: number, phase: string) {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status === 503 && phase === 'full') refusedWhileFull.count++;
  else if (status >= 500) otherFiveXx++;
}
const timeUntilWritable = async () => {
  const t0 = performance.now();
  for (;;) {
    const id = `df-${seq++}`;
    const r = await fetch(`${url}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        eventType: 'POWER_MODULE_FAULT',
        service: 'powersupply_dc',
        errorCode: 'CanBusOff',
        priority: 'low',
      }),
    });
    tried++;
    await r.arrayBuffer();
    if (r.status === 200) {
      acked.add(id);
      return Math.round(performance.now() - t0);
    }
    if (performance.now() - t0 > 30_000) {
      console.error(`last answer ${r.status}; disk free ${Bun.spawnSync(['df', '-k', mountDir]).stdout}`);
      throw new Error('writes did not recover within 30 s');
    }
    await Bun.sleep(20);
  }
};

const report: Record<string, unknown> = { diskMb, maxDbMb, loadSeconds: seconds };
let proc = await start();
try {
  // 1. Saturating load on an empty disk.
  let end = performance.now() + seconds * 1000;
  await load(() => performance.now() >= end || proc.exitCode !== null, 'load');
  report.maxStoreAndWalBytes = maxStoreFiles;
  report.atMax = atMax;
  // The store's own files never fill the disk; how far past the bound the WAL runs under this load.
  report.withinBound = maxStoreFiles < (diskMb - 2) * 1024 * 1024;
  report.peakOverBound = Math.round((maxStoreFiles / (maxDbMb * 1024 * 1024)) * 100) / 100;

  // 2. Another file fills the disk under the same load.
  fill();
  const seen = new Set<string>();
  end = performance.now() + 3000;
  await Promise.all([
    load(() => performance.now() >= end || proc.exitCode !== null, 'full'),
    (async () => {
      while (performance.now() < end) {
        seen.add(await health());
        await Bun.sleep(100);
      }
    })(),
  ]);
  report.healthWhileFull = [...seen];
  report.refusedWhileFull = refusedWhileFull.count;

  // 3. Space back.
  rmSync(ballast, { force: true });
  report.recoveryMs = await timeUntilWritable();

  // 4. A clean stop, a full disk, a start.
  proc.kill('SIGTERM');
  report.cleanStopExitCode = await proc.exited;
  fill();
  proc = await start();
  const events = await fetch(`${url}/api/events?limit=5`);
  const login = await fetch(`${url}/chat/login`);
  report.readOnlyStart = {
    health: await health(),
    readsStatus: events.status,
    uiStatus: login.status,
    writeStatus: (
      await fetch(`${url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          eventType: 'POWER_MODULE_FAULT',
          service: 'powersupply_dc',
          errorCode: 'CanBusOff',
          priority: 'low',
        }),
      })
    ).status,
  };
  rmSync(ballast, { force: true });
  report.recoveryAfterStartMs = await timeUntilWritable();
  report.healthAfter = await health();
} finally {
  if (proc.exitCode !== null && proc.signalCode !== null) crashes++;
  proc.kill('SIGTERM');
  await proc.exited;
}

const db = new Database(dbPath, { readonly: true });
const has = db.query<{ n: number }, [string]>('SELECT count(*) AS n FROM events WHERE id = ?');
let lost = 0;
for (const id of acked) if (!has.get(id)?.n) lost++;
const integrity = db.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()?.integrity_check;
db.close();

Object.assign(report, {
  recordsTried: tried,
  statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
  eventsAcknowledged: acked.size,
  eventsLost: lost,
  otherFiveXx,
  crashes,
  integrityCheck: integrity,
});
console.log(JSON.stringify(report, null, 1));
const ro = report.readOnlyStart as {
  health: string;
  readsStatus: number;
  uiStatus: number;
  writeStatus: number;
};
const ok =
  lost === 0 &&
  otherFiveXx === 0 &&
  crashes === 0 &&
  integrity === 'ok' &&
  report.withinBound === true &&
  ro.health === 'degraded' &&
  ro.readsStatus === 200 &&
  ro.uiStatus === 200 &&
  ro.writeStatus === 503 &&
  report.healthAfter === 'ok';
process.exit(ok ? 0 : 1);
