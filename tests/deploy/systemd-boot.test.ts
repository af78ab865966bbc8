// The shipped unit under a real systemd: systemd-nspawn boots this machine's own /usr (systemd
// 252 on Debian 12) with a throw-away root, private network and no host /etc, and a probe inside
// (systemd-boot-probe.sh) installs TracePulse with edge/install.sh and exercises the service:
// DynamicUser, StateDirectory, hardening as applied by systemd, graceful stop, exit 78 without
// restarts, reinstall without restart, uninstall. Takes about 15 s.
import { afterAll, describe, expect, test } from 'bun:test';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compiledBinary, createProcessGroup, createTempDirs, drain, have, repoRoot } from './support.ts';

const isRoot = process.getuid?.() === 0;
const canBoot =
  isRoot &&
  have('systemd-nspawn') &&
  have('curl') &&
  existsSync('/usr/lib/systemd/systemd') &&
  process.arch === 'x64';
if (!canBoot) {
  console.warn(
    'SKIP real-systemd test: needs root, systemd-nspawn (apt-get install -y systemd-container), curl and an x86_64 host',
  );
}

const temp = createTempDirs('tp-boot');
const procs = createProcessGroup();
afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

const probeTarget = `[Unit]
Description=TracePulse probe boot
Requires=basic.target
After=basic.target
Wants=tp-probe.service
AllowIsolate=yes
`;
const probeService = `[Unit]
After=basic.target
[Service]
Type=oneshot
ExecStart=/src/tests/deploy/systemd-boot-probe.sh
`;

async function boot(): Promise<{
  results: Record<string, string>;
  files: (name: string) => string;
  log: string;
}> {
  const dir = temp.make();
  for (const d of ['out', 'opt', 'localbin', 'units']) mkdirSync(join(dir, d));
  copyFileSync(await compiledBinary('x64'), join(dir, 'opt/tracepulse'));
  writeFileSync(join(dir, 'units/tp-probe.target'), probeTarget);
  writeFileSync(join(dir, 'units/tp-probe.service'), probeService);

  const nspawn = procs.spawn([
    'systemd-nspawn',
    ...['--directory=/', '--volatile=yes', `--machine=tp-boot-${process.pid}`],
    ...['--register=no', '--keep-unit', '--private-network', '--boot', '--console=pipe', '--quiet'],
    `--bind=${dir}/out:/var/tmp/out`,
    `--bind-ro=${repoRoot}:/src`,
    `--bind-ro=${dir}/opt:/opt/tracepulse`,
    // /usr comes read-only from the host; install.sh needs a writable /usr/local/bin.
    `--bind=${dir}/localbin:/usr/local/bin`,
    `--bind-ro=${dir}/units/tp-probe.target:/etc/systemd/system/tp-probe.target`,
    `--bind-ro=${dir}/units/tp-probe.service:/etc/systemd/system/tp-probe.service`,
    '--',
    'systemd.unit=tp-probe.target',
  ]);
  // The probe powers the container off; if it hangs, SIGTERM halts the container cleanly.
  const timer = setTimeout(() => nspawn.kill('SIGTERM'), 50_000);
  // Read both pipes to the end, so console output can never fill a pipe and stall the boot.
  const [, consoleOut, errors] = await Promise.all([
    nspawn.exited,
    drain(nspawn.stdout),
    drain(nspawn.stderr),
  ]);
  const log = `${consoleOut}${errors}`;
  clearTimeout(timer);

  const file = (name: string) => {
    const p = join(dir, 'out', name);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  };
  const results = Object.fromEntries(
    file('results')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { results, files: file, log };
}

describe.skipIf(!canBoot)('systemd unit under a real systemd (nspawn)', () => {
  test('install.sh installs and starts it; systemd runs it confined; stop, bad config, reinstall and uninstall behave', async () => {
    const { results: r, files, log } = await boot();
    const context = `results:\n${files('results')}\ninstall:\n${files('install1.txt')}\njournal:\n${files('journal.txt')}\nnspawn:\n${log}`;
    expect(r.finished, context).toBe('yes');

    // Installed live: enabled, started, healthy.
    expect(r.install_rc).toBe('0');
    expect(files('install1.txt')).toContain('restarted tracepulse.service');
    expect(r.enabled).toBe('enabled');
    expect(r.healthy).toBe('0');
    expect(r.active).toBe('active/running');

    // What systemd applied to the running process.
    expect(Number(r.uid)).toBeGreaterThanOrEqual(61184); // systemd's dynamic UID range 61184-65519
    expect(Number(r.uid)).toBeLessThanOrEqual(65519);
    expect(r.cap_eff).toBe('0000000000000000');
    expect(r.cap_bnd).toBe('0000000000000000');
    expect(r.no_new_privs).toBe('1');
    expect(r.seccomp).toBe('2');
    expect(r.umask).toBe('0077');

    // StateDirectory= with DynamicUser=: private folder, owned by the service, files 0600.
    expect(r.data_link).toBe('private/tracepulse');
    expect(r.data_files?.split(' ')).toContain('tracepulse.db');
    expect(r.data_mode).toBe('700');
    expect(r.db_owner_is_service).toBe('yes');
    expect(r.db_mode).toBe('600');

    // It ingests, and a second install.sh neither changes nor restarts anything.
    expect(JSON.parse(r.post ?? '{}')).toEqual({ status: 'processed', eventId: 'boot-1' });
    expect(r.events).toContain('"id":"boot-1"');
    expect(r.install2_rc).toBe('0');
    expect(r.same_pid_after_reinstall).toBe('yes');

    // systemctl stop: SIGTERM, clean exit, fast; the event is there after a restart.
    expect(r.stop_result).toBe('success');
    expect(r.stop_status).toBe('0');
    expect(Number(r.stop_ms)).toBeLessThan(5000);
    expect(files('journal.txt')).toContain('SIGTERM received');
    expect(r.healthy_again).toBe('0');
    expect(r.events_after_restart).toContain('"id":"boot-1"');

    // Invalid settings: exit 78 and RestartPreventExitStatus= keeps it from looping.
    expect(r.bad_config_state).toBe('failed');
    expect(r.bad_config_status).toBe('78');
    expect(r.bad_config_restarts).toBe('0');
    expect(files('journal.txt')).toContain('TRACEPULSE_PORT');

    // Uninstall: stopped, unit gone, settings and data kept.
    expect(r.uninstall_rc).toBe('0');
    expect(r.after_uninstall).toBe('inactive');
    expect(r.unit_gone).toBe('yes');
    expect(r.env_kept).toBe('yes');
    expect(r.data_kept).toBe('yes');
  }, 60_000);
});
