// Dockerfile.arm64 and Dockerfile, without a Docker engine: the dockerfile-utils linter, the
// structure the gateway and Kubernetes rely on, the build context .dockerignore lets through,
// and the image's health check script run against a real TracePulse.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  freePort,
  repoRoot,
  startServer,
} from './support.ts';

const temp = createTempDirs('tp-docker');
const procs = createProcessGroup();
afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [keyword = '', ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of the last stage, the one that becomes the image. */
function finalStage(all: Instruction[]): Instruction[] {
  const lastFrom = all.findLastIndex((i) => i.keyword === 'FROM');
  return all.slice(lastFrom);
}

const variants = [
  { file: 'Dockerfile.arm64', platform: 'linux/arm64', dist: 'dist/tracepulse-linux-arm64' },
  { file: 'Dockerfile', platform: 'linux/amd64', dist: 'dist/tracepulse-linux-x64' },
] as const;

const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe.each(variants)('$file', ({ file, platform, dist }) => {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const stage = finalStage(instructions(text));
  const args = (kw: string) => stage.filter((i) => i.keyword === kw).map((i) => i.args);
  const copies = args('COPY')
    .filter((a) => !a.includes('--from='))
    .map((a) => a.split(/\s+/).filter((w) => !w.startsWith('--')));

  test('has no lint finding (dockerfile-utils, the VS Code Docker linter)', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test('builds a non-root image for its platform without running anything in it', () => {
    expect(stage[0]?.args).toBe(`--platform=${platform} debian:bookworm-slim`);
    // No RUN in the target-architecture stage: cross builds need no emulation.
    expect(args('RUN')).toEqual([]);
    const user = args('USER').at(-1) ?? '';
    expect(user).toMatch(/^\d+:\d+$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  test('runs the copied executable with its data in a volume on port 3000', () => {
    expect(copies).toContainEqual([dist, '/usr/local/bin/tracepulse']);
    expect(args('ENTRYPOINT')).toEqual(['["/usr/local/bin/tracepulse"]']);
    expect(args('CMD')).toEqual(['["serve"]']);
    expect(args('VOLUME')).toEqual(['["/var/lib/tracepulse"]']);
    expect(args('EXPOSE')).toEqual(['3000']);
    const env = args('ENV').join(' ');
    expect(env).toContain('TRACEPULSE_DATA_DIR=/var/lib/tracepulse');
    expect(env).toContain('TRACEPULSE_PORT=3000');
    expect(env).toContain('TRACEPULSE_HOST=0.0.0.0');
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
  });

  test('health-checks /healthz with the script it copies', () => {
    expect(copies).toContainEqual(['edge/healthcheck.sh', '/usr/local/bin/tracepulse-healthcheck']);
    expect(args('HEALTHCHECK').at(-1)).toMatch(/CMD \["\/usr\/local\/bin\/tracepulse-healthcheck"\]$/);
  });

  test('copies only files that .dockerignore lets into the build context and that exist', () => {
    expect(dockerignore[0]).toBe('*');
    for (const [src] of copies) {
      expect(dockerignore).toContain(`!${src}`);
      // dist/ is built by scripts/build; everything else is in the repo.
      if (!src!.startsWith('dist/')) expect(existsSync(join(repoRoot, src!))).toBe(true);
    }
  });
});

test('the two Dockerfiles differ only in the architecture', () => {
  const arm = readFileSync(join(repoRoot, 'Dockerfile.arm64'), 'utf8');
  const x64 = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const neutral = (t: string) =>
    t
      .replace(/linux-(arm64|x64)/g, 'linux-ARCH')
      .replace(/linux\/(arm64|amd64)/g, 'linux/ARCH')
      .replace(/tracepulse:(arm64|amd64)/g, 'tracepulse:ARCH')
      .replace(/^# TracePulse image for .*$/m, '')
      .replace(/-f Dockerfile(\.arm64)?/g, '-f FILE')
      .replace(/in the (arm64|amd64) stage/g, 'in the ARCH stage');
  expect(neutral(x64)).toBe(neutral(arm));
});

test('the linter does flag a broken Dockerfile (the lint test is not vacuous)', () => {
  expect(
    validate('FROM debian:bookworm-slim\nEXPOSE port\nHEALTHCHECK --interval=soon CMD true\n').length,
  ).toBe(2);
});

describe('edge/healthcheck.sh', () => {
  const script = join(repoRoot, 'edge/healthcheck.sh');
  const check = async (port: number) => {
    const p = Bun.spawn(['bash', script], {
      env: { PATH: process.env.PATH, TRACEPULSE_PORT: String(port) },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const started = Date.now();
    const code = await p.exited;
    return { code, ms: Date.now() - started, err: await new Response(p.stderr).text() };
  };

  test('passes against a running TracePulse', async () => {
    const exe = await compiledBinary('x64');
    const server = await startServer(procs, [exe], { dataDir: temp.make() });
    expect((await check(server.port)).code).toBe(0);
    server.proc.kill('SIGTERM');
    expect(await server.proc.exited).toBe(0);
  }, 30_000);

  test('fails when nothing listens, when /healthz is not 200, and when the server hangs', async () => {
    expect((await check(await freePort())).code).toBe(1);

    const failing = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response('{}', { status: 503 }),
    });
    try {
      const r = await check(failing.port!);
      expect(r.code).toBe(1);
      expect(r.err).toContain('503');
    } finally {
      await failing.stop(true);
    }

    // Accepts the connection and never answers: the script gives up by itself (read -t 4),
    // before Docker's --timeout=5s would have to kill it.
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      const r = await check(silent.port);
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(5000);
    } finally {
      silent.stop(true);
    }
  }, 15_000);
});
