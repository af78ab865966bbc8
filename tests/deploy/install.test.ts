// edge/install.sh, run for real with /bin/sh into a temp --root: what it installs, that a second
// run changes nothing, that operator files survive, uninstall and purge, and that the host is
// left alone.
import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createTempDirs, have, repoRoot } from './support.ts';

const temp = createTempDirs('tp-install');
afterAll(() => temp.cleanup());

const hostArch = Bun.spawnSync(['uname', '-m']).stdout.toString().trim();

/**
 * A release folder laid out like a checkout: edge/, systemd/, system-map.yaml and dist/ with
 * two small stand-in executables whose bytes tell which one was installed.
 */
function makeRelease(): string {
  const rel = join(temp.make(), 'tracepulse');
  for (const f of [
    'edge/install.sh',
    'edge/tracepulse.env.example',
    'systemd/tracepulse.service',
    'system-map.yaml',
  ]) {
    mkdirSync(join(rel, f, '..'), { recursive: true });
    cpSync(join(repoRoot, f), join(rel, f));
  }
  mkdirSync(join(rel, 'dist'));
  for (const arch of ['x64', 'arm64']) {
    writeFileSync(join(rel, `dist/tracepulse-linux-${arch}`), `#!/bin/sh\necho tracepulse-${arch}\n`);
    chmodSync(join(rel, `dist/tracepulse-linux-${arch}`), 0o755);
  }
  return rel;
}

function install(rel: string, args: string[], env: Record<string, string | undefined> = process.env) {
  const p = Bun.spawnSync(['sh', join(rel, 'edge/install.sh'), ...args], {
    env,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

/** Every path under root with its type, mode, link target and content hash, sorted. */
function digest(root: string): string[] {
  const rows: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = p.slice(root.length);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) rows.push(`${rel} link ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        rows.push(`${rel} dir ${mode}`);
        walk(p);
      } else {
        const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
        rows.push(`${rel} file ${mode} ${hash} ${st.mtimeMs}`);
      }
    }
  };
  walk(root);
  return rows;
}

const mode = (p: string) => (lstatSync(p).mode & 0o777).toString(8);
const read = (p: string) => readFileSync(p, 'utf8');

describe('edge/install.sh', () => {
  test('installs binary, unit, settings and system map into --root and enables the unit offline', () => {
    const rel = makeRelease();
    const root = temp.make();
    const r = install(rel, ['--root', root]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    const expectedArch = hostArch === 'aarch64' ? 'arm64' : 'x64';
    expect(read(join(root, 'usr/local/bin/tracepulse'))).toBe(`#!/bin/sh\necho tracepulse-${expectedArch}\n`);
    expect(mode(join(root, 'usr/local/bin/tracepulse'))).toBe('755');
    expect(read(join(root, 'etc/systemd/system/tracepulse.service'))).toBe(
      read(join(repoRoot, 'systemd/tracepulse.service')),
    );
    expect(read(join(root, 'etc/tracepulse/tracepulse.env'))).toBe(
      read(join(repoRoot, 'edge/tracepulse.env.example')),
    );
    expect(mode(join(root, 'etc/tracepulse/tracepulse.env'))).toBe('600');
    expect(read(join(root, 'etc/tracepulse/system-map.yaml'))).toBe(read(join(repoRoot, 'system-map.yaml')));
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/tracepulse.service'))).toBe(
      '/etc/systemd/system/tracepulse.service',
    );
    // DynamicUser: no account in the tree, and systemd makes the state folder at first start.
    expect(existsSync(join(root, 'etc/passwd'))).toBe(false);
    expect(existsSync(join(root, 'var'))).toBe(false);
    expect(r.out).toContain('systemctl daemon-reload && systemctl enable --now tracepulse');
  });

  test('a second run changes nothing in the tree, not even a timestamp', () => {
    const rel = makeRelease();
    const root = temp.make();
    expect(install(rel, ['--root', root]).code).toBe(0);
    const first = digest(root);
    const again = install(rel, ['--root', root]);
    expect(again.code).toBe(0);
    expect(digest(root)).toEqual(first);
    expect(again.out).toContain('unchanged');
    expect(again.out).toContain('kept existing');
    expect(again.out).not.toMatch(/^ {2}(installed|created) /m);
  });

  test("an upgrade replaces binary and unit but keeps the operator's settings and map", () => {
    const rel = makeRelease();
    const root = temp.make();
    expect(install(rel, ['--root', root]).code).toBe(0);
    const env = join(root, 'etc/tracepulse/tracepulse.env');
    const map = join(root, 'etc/tracepulse/system-map.yaml');
    writeFileSync(env, 'TRACEPULSE_STATION_ID=EV-Station-01\nTRACEPULSE_API_KEYS=k-3f9a\n');
    writeFileSync(map, 'services: {}\n');

    const newer = join(temp.make(), 'tracepulse-0.2.0');
    writeFileSync(newer, '#!/bin/sh\necho tracepulse-0.2.0\n');
    const r = install(rel, ['--root', root, '--binary', newer]);
    expect(r.code).toBe(0);
    expect(read(join(root, 'usr/local/bin/tracepulse'))).toBe('#!/bin/sh\necho tracepulse-0.2.0\n');
    expect(mode(join(root, 'usr/local/bin/tracepulse'))).toBe('755');
    expect(read(env)).toBe('TRACEPULSE_STATION_ID=EV-Station-01\nTRACEPULSE_API_KEYS=k-3f9a\n');
    expect(read(map)).toBe('services: {}\n');
  });

  test('picks the build for the machine: aarch64 gets arm64, an unknown one is refused', () => {
    const rel = makeRelease();
    // A stand-in uname first on PATH is the only way to be another machine in a test.
    const fakeBin = temp.make();
    const path = `${fakeBin}:${process.env.PATH}`;
    const setMachine = (m: string) => {
      writeFileSync(join(fakeBin, 'uname'), `#!/bin/sh\necho ${m}\n`);
      chmodSync(join(fakeBin, 'uname'), 0o755);
    };

    setMachine('aarch64');
    const root = temp.make();
    expect(install(rel, ['--root', root], { ...process.env, PATH: path }).code).toBe(0);
    expect(read(join(root, 'usr/local/bin/tracepulse'))).toContain('tracepulse-arm64');

    setMachine('armv7l');
    const other = temp.make();
    const r = install(rel, ['--root', other], { ...process.env, PATH: path });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("no TracePulse build for architecture 'armv7l' (supported: x86_64, aarch64)");
    expect(readdirSync(other)).toEqual([]);
  });

  test('refuses a missing binary or a stray --purge before touching anything', () => {
    const rel = makeRelease();
    const root = temp.make();
    const missing = install(rel, ['--root', root, '--binary', join(root, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('executable not found');
    const purge = install(rel, ['--root', root, '--purge']);
    expect(purge.code).not.toBe(0);
    expect(purge.err).toContain('--purge only goes with --uninstall');
    expect(readdirSync(root)).toEqual([]);
  });

  test('--uninstall removes binary and unit but keeps settings and data; --purge removes those too', () => {
    const rel = makeRelease();
    const root = temp.make();
    expect(install(rel, ['--root', root]).code).toBe(0);
    // What systemd leaves after the service ran with DynamicUser=yes and StateDirectory=.
    mkdirSync(join(root, 'var/lib/private/tracepulse'), { recursive: true });
    writeFileSync(join(root, 'var/lib/private/tracepulse/tracepulse.db'), 'SQLite format 3\0');
    symlinkSync('private/tracepulse', join(root, 'var/lib/tracepulse'));

    expect(install(rel, ['--root', root, '--uninstall']).code).toBe(0);
    expect(existsSync(join(root, 'usr/local/bin/tracepulse'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/tracepulse.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/tracepulse.service'))).toBe(
      false,
    );
    expect(existsSync(join(root, 'etc/tracepulse/tracepulse.env'))).toBe(true);
    expect(existsSync(join(root, 'etc/tracepulse/system-map.yaml'))).toBe(true);
    expect(existsSync(join(root, 'var/lib/tracepulse/tracepulse.db'))).toBe(true);

    // Uninstalling what is gone already is fine.
    expect(install(rel, ['--root', root, '--uninstall']).code).toBe(0);

    expect(install(rel, ['--root', root, '--uninstall', '--purge']).code).toBe(0);
    expect(existsSync(join(root, 'etc/tracepulse'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/private/tracepulse'))).toBe(false);
    expect(lstatSync(join(root, 'var/lib')).isDirectory()).toBe(true);
    expect(readdirSync(join(root, 'var/lib'))).toEqual(['private']);
  });

  test("never touches the host's /etc when given --root", () => {
    const before = {
      passwd: read('/etc/passwd'),
      group: read('/etc/group'),
      etcTracepulse: existsSync('/etc/tracepulse'),
      unit: existsSync('/etc/systemd/system/tracepulse.service'),
    };
    const rel = makeRelease();
    const root = temp.make();
    expect(install(rel, ['--root', root]).code).toBe(0);
    expect(install(rel, ['--root', root, '--uninstall', '--purge']).code).toBe(0);
    expect({
      passwd: read('/etc/passwd'),
      group: read('/etc/group'),
      etcTracepulse: existsSync('/etc/tracepulse'),
      unit: existsSync('/etc/systemd/system/tracepulse.service'),
    }).toEqual(before);
  });

  test.skipIf(!have('busybox'))(
    'works on a busybox-only userland (sh, cp, cmp, ln of a minimal gateway)',
    () => {
      const busybox = Bun.which('busybox')!;
      const applets = temp.make();
      const list = Bun.spawnSync([busybox, '--list']).stdout.toString().split('\n').filter(Boolean);
      for (const applet of list) symlinkSync(busybox, join(applets, applet));
      const env = { PATH: applets };
      const run = (rel: string, args: string[]) => {
        const p = Bun.spawnSync([busybox, 'sh', join(rel, 'edge/install.sh'), ...args], {
          env,
          stdout: 'pipe',
          stderr: 'pipe',
        });
        return { code: p.exitCode, err: p.stderr.toString() };
      };
      const rel = makeRelease();
      const root = temp.make();
      expect(run(rel, ['--root', root])).toEqual({ code: 0, err: '' });
      expect(read(join(root, 'usr/local/bin/tracepulse'))).toContain('tracepulse-');
      const first = digest(root);
      expect(run(rel, ['--root', root])).toEqual({ code: 0, err: '' });
      expect(digest(root)).toEqual(first);
      expect(run(rel, ['--root', root, '--uninstall', '--purge'])).toEqual({ code: 0, err: '' });
      expect(existsSync(join(root, 'etc/tracepulse'))).toBe(false);
    },
  );

  test.skipIf(!have('shellcheck'))('install.sh and healthcheck.sh are shellcheck-clean', () => {
    const p = Bun.spawnSync(['shellcheck', 'edge/install.sh', 'edge/healthcheck.sh'], {
      cwd: repoRoot,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(p.stdout.toString() + p.stderr.toString()).toBe('');
    expect(p.exitCode).toBe(0);
  });
});
