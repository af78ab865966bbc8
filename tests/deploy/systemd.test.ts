// systemd/tracepulse.service: systemd's own checker accepts it, its hardening score stays in the
// "OK" band, and the settings the gateway relies on are present.
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBinary, createTempDirs, have, repoRoot } from './support.ts';

const unitPath = join(repoRoot, 'systemd/tracepulse.service');
const unitText = readFileSync(unitPath, 'utf8');
const hasAnalyze = have('systemd-analyze');
if (!hasAnalyze) {
  console.warn('SKIP systemd-analyze checks: systemd-analyze not found (apt-get install -y systemd)');
}

const temp = createTempDirs('tp-systemd');
afterAll(() => temp.cleanup());

/** key -> every value, per section, in file order (systemd allows repeated keys). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/**
 * A copy of the unit whose ExecStart points at an executable that exists here: verify insists
 * that the binary exists, and /usr/local/bin/tracepulse is not installed on a build machine.
 */
function unitCopy(transform: (text: string) => string = (t) => t): string {
  const dir = temp.make();
  const exe = join(dir, 'tracepulse');
  writeFileSync(exe, '#!/bin/sh\nexit 0\n');
  chmodSync(exe, 0o755);
  const text = unitText.replace(/^ExecStart=\/usr\/local\/bin\/tracepulse /m, `ExecStart=${exe} `);
  expect(text).not.toBe(unitText);
  const copy = join(dir, 'tracepulse.service');
  writeFileSync(copy, transform(text));
  return copy;
}

function analyze(args: string[]) {
  const p = Bun.spawnSync(['systemd-analyze', ...args], { stdout: 'pipe', stderr: 'pipe' });
  return { code: p.exitCode, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
}

describe('systemd unit', () => {
  test.skipIf(!hasAnalyze)('passes systemd-analyze verify with no warning at all', () => {
    const r = analyze(['verify', unitCopy()]);
    // verify exits 0 on unknown keys and bad values too, and only prints them: so demand silence.
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  test.skipIf(!hasAnalyze)('verify does report a mistyped key (the check above is not vacuous)', () => {
    const r = analyze(['verify', unitCopy((t) => t.replace('ProtectSystem=strict', 'ProtectSytem=strict'))]);
    expect(r.out).toContain("Unknown key 'ProtectSytem'");
  });

  test.skipIf(!hasAnalyze)('has a systemd-analyze security exposure of at most 2.0 (OK band)', () => {
    // --threshold is in tenths: the command fails when the exposure is above 2.0.
    const r = analyze(['security', '--offline=yes', '--threshold=20', '--no-pager', unitCopy()]);
    const score = /Overall exposure level for \S+: ([\d.]+)/.exec(r.out)?.[1];
    expect(score, r.out).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(2.0);
    expect(r.code).toBe(0);
  });

  const unit = parseUnit(unitText);
  const service = unit.get('Service')!;
  const unitSection = unit.get('Unit')!;
  const one = (key: string) => service.get(key)?.at(-1);

  test('runs the installed binary as a dynamic, capability-free user with its state folder', () => {
    expect(one('ExecStart')).toBe('/usr/local/bin/tracepulse serve');
    expect(one('EnvironmentFile')).toBe('/etc/tracepulse/tracepulse.env');
    expect(service.get('Environment')).toContain('TRACEPULSE_DATA_DIR=/var/lib/tracepulse');
    expect(service.get('Environment')).toContain('TRACEPULSE_SYSTEM_MAP=/etc/tracepulse/system-map.yaml');
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('tracepulse');
    expect(one('WorkingDirectory')).toBe('/var/lib/tracepulse');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('AmbientCapabilities')).toBe('');
  });

  test('restarts on failure within a start limit and stops gracefully', () => {
    expect(one('Restart')).toBe('on-failure');
    // main.ts exits 78 (EX_CONFIG) on invalid settings: no point restarting.
    expect(one('RestartPreventExitStatus')).toBe('78');
    expect(Number(unitSection.get('StartLimitBurst')?.[0])).toBeGreaterThan(0);
    expect(Number(unitSection.get('StartLimitIntervalSec')?.[0])).toBeGreaterThan(0);
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('TimeoutStopSec')).toMatch(/^\d+s$/);
    expect(one('StandardOutput')).toBe('journal');
  });

  test('the binary exits with the code RestartPreventExitStatus names when settings are invalid', async () => {
    const exe = await compiledBinary('x64');
    const p = Bun.spawn([exe, 'serve'], {
      cwd: temp.make(),
      env: { PATH: process.env.PATH, TRACEPULSE_PORT: 'eighty', TRACEPULSE_SQLITE_SYNC: 'sometimes' },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(await p.exited).toBe(Number(one('RestartPreventExitStatus')));
    const err = await new Response(p.stderr).text();
    expect(err).toContain('invalid configuration');
    expect(err).toContain('TRACEPULSE_PORT');
    expect(err).toContain('TRACEPULSE_SQLITE_SYNC');
  }, 30_000);

  test('is hardened for a gateway but leaves the JIT allowed', () => {
    for (const [key, value] of [
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['LockPersonality', 'yes'],
      ['ProtectKernelTunables', 'yes'],
      ['ProtectKernelModules', 'yes'],
      ['ProtectKernelLogs', 'yes'],
      ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
      ['MemoryMax', '256M'],
    ] as const) {
      expect(`${key}=${one(key)}`).toBe(`${key}=${value}`);
    }
    expect(service.get('SystemCallFilter')).toContain('@system-service');
    // Bun's JavaScriptCore JIT maps writable+executable memory: this setting would kill it at start.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });
});
