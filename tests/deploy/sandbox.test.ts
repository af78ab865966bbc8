// The compiled binary runs under the confinement the systemd unit and the Kubernetes pod impose,
// without systemd or a cluster: bubblewrap gives a read-only root with only the data folder
// writable and a private /tmp (ProtectSystem=strict, PrivateTmp=, readOnlyRootFilesystem),
// setpriv a non-root UID with no capabilities and no_new_privs (DynamicUser=,
// CapabilityBoundingSet=, NoNewPrivileges=, runAsNonRoot, drop ALL), and seccomp-exec.py the
// unit's own SystemCallFilter= and RestrictAddressFamilies=.
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, chownSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  have,
  repoRoot,
  startServer,
  stationEvent,
} from './support.ts';

const systemPython = '/usr/bin/python3';
const hasSeccomp =
  Bun.spawnSync([systemPython, '-c', 'import seccomp'], { stdout: 'ignore', stderr: 'ignore' }).exitCode ===
  0;
const isRoot = process.getuid?.() === 0;
const canSandbox = have('bwrap') && have('setpriv') && have('systemd-analyze') && hasSeccomp && isRoot;
if (!canSandbox) {
  console.warn(
    'SKIP sandbox tests: need root, bwrap, setpriv, systemd-analyze and python3-seccomp ' +
      '(apt-get install -y bubblewrap python3-seccomp systemd)',
  );
}

const serviceUid = '10001';

const temp = createTempDirs('tp-sandbox');
// The filter script and the unit are copied out of the checkout: a checkout under /tmp would be
// hidden by the sandbox's private /tmp, and one in root's home is not readable by the service uid.
const aux = temp.make();
chmodSync(aux, 0o755);
const unit = join(aux, 'tracepulse.service');
const filterScript = join(aux, 'seccomp-exec.py');
copyFileSync(join(repoRoot, 'systemd/tracepulse.service'), unit);
copyFileSync(join(repoRoot, 'tests/deploy/seccomp-exec.py'), filterScript);
const filter = [systemPython, filterScript, unit];
const procs = createProcessGroup();
afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

/** The command line that runs `program` confined, with `dataDir` as the only writable folder. */
function confined(dataDir: string, program: string[]): string[] {
  return [
    'bwrap',
    ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
    ...['--bind', dataDir, dataDir, '--chdir', dataDir],
    // The executable may live in a temp folder, which the private /tmp would hide.
    ...['--ro-bind', dirname(program[0]!), dirname(program[0]!)],
    ...['--ro-bind', aux, aux],
    ...['--unshare-pid', '--unshare-ipc', '--die-with-parent'],
    'setpriv',
    ...[`--reuid=${serviceUid}`, `--regid=${serviceUid}`, '--clear-groups', '--no-new-privs'],
    ...['--inh-caps=-all', '--bounding-set=-all'],
    ...filter,
    ...program,
  ];
}

function statusOf(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/** The host PID of the process whose environment has TRACEPULSE_DATA_DIR=dataDir. */
function findPid(dataDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm.startsWith('tracepulse') && env.includes(`TRACEPULSE_DATA_DIR=${dataDir}`))
        return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  throw new Error(`no tracepulse process for ${dataDir}`);
}

describe.skipIf(!canSandbox)('confined like the systemd unit and the Kubernetes pod', () => {
  test('the filter is really applied: netlink sockets and chroot are refused, inet sockets work', () => {
    const probe = (code: string) =>
      Bun.spawnSync([...filter, systemPython, '-c', code], { stdout: 'pipe', stderr: 'pipe' });
    expect(probe('import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM)').exitCode).toBe(0);
    expect(
      probe('import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)').stderr.toString(),
    ).toContain('Operation not permitted');
    expect(probe('import os; os.chroot("/")').stderr.toString()).toContain('Operation not permitted');
  });

  test('serves, ingests, stays within the memory budget and stops on SIGTERM', async () => {
    const exe = join(aux, 'tracepulse');
    copyFileSync(await compiledBinary('x64'), exe);
    chmodSync(exe, 0o755);
    const dataDir = temp.make();
    chownSync(dataDir, Number(serviceUid), Number(serviceUid));
    chmodSync(dataDir, 0o700);
    const server = await startServer(procs, confined(dataDir, [exe]), { dataDir, readyTimeoutMs: 15_000 });

    const pid = findPid(dataDir);
    const status = statusOf(pid);
    expect(status.Uid?.split(/\s+/)).toEqual([serviceUid, serviceUid, serviceUid, serviceUid]);
    expect(status.CapEff).toBe('0000000000000000');
    expect(status.CapBnd).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('1');
    expect(status.Seccomp).toBe('2');

    // 400 events in 4 parallel streams: the database is written from inside the sandbox.
    const correlationId = 'tx-sandbox-0001';
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 100; i++) {
          const res = await fetch(`${server.url}/webhook/event`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(stationEvent(w * 100 + i, correlationId)),
          });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      }),
    );
    const listed = (await (
      await fetch(`${server.url}/api/events?correlationId=${correlationId}&limit=1000`)
    ).json()) as {
      events: unknown[];
    };
    expect(listed.events.length).toBe(400);
    expect(readdirSync(dataDir)).toContain('tracepulse.db');

    // MemoryHigh=200M in the unit, 256Mi limit in the pod: the peak resident size stays below both.
    const peakKb = Number(/^(\d+) kB$/.exec(statusOf(pid).VmHWM ?? '')?.[1]);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(200 * 1024);

    // SIGTERM to the service itself, as systemd's KillMode=mixed sends it.
    process.kill(pid, 'SIGTERM');
    const code = await Promise.race([server.proc.exited, Bun.sleep(10_000).then(() => 'timeout')]);
    expect(code, server.output()).toBe(0);
    expect(server.output()).toContain('TracePulse stopped');
  }, 45_000);
});
