import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, type RunResult, run } from './helpers/run.ts';
import {
  packageRoot,
  repoRoot,
  startTracePulse,
  type TracePulse,
  tempDir,
  uniquePrefix,
  waitFor,
} from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

// One npm pack (runs prepack = tsc build) shared by the tests below.
const tmp = tempDir('pack');
let tp: TracePulse;
let files: string[] = [];
let app = '';
let typeCheck: Promise<RunResult> | undefined;

beforeAll(async () => {
  const [server, packed] = await Promise.all([
    startTracePulse({ prefix: uniquePrefix('node'), waitMqtt: true, apiKeys: ['station-key-01'] }),
    run('npm', ['pack', '--json', '--pack-destination', tmp.dir], { cwd: packageRoot, timeoutMs: 60_000 }),
  ]);
  tp = server;
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
  const manifest = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  files = manifest[0]!.files.map((f) => f.path);
  // Unpack as a user's node_modules would hold it; mqtt and @types/node come from the repo.
  app = join(tmp.dir, 'app');
  mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
  const untar = await run('tar', ['-xzf', join(tmp.dir, manifest[0]!.filename), '-C', tmp.dir]);
  if (untar.code !== 0) throw new Error(untar.stderr);
  renameSync(join(tmp.dir, 'package'), join(app, 'node_modules/debug-queue'));
  symlinkSync(join(repoRoot, 'node_modules/mqtt'), join(app, 'node_modules/mqtt'));
  symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'));
  for (const f of ['node-consumer.mjs', 'console-app.mjs'])
    copyFileSync(join(packageRoot, 'tests/fixtures', f), join(app, f));
  copyFileSync(join(packageRoot, 'tests/fixtures/consumer-types.ts.txt'), join(app, 'consumer-types.ts'));
  // Started now, awaited by its test, so it runs while the node tests run. --skipLibCheck spares
  // re-checking @types/node; the @ts-expect-error lines in the file fail if our types were unresolved.
  typeCheck = run(
    join(repoRoot, 'node_modules/.bin/tsc'),
    [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      'consumer-types.ts',
    ],
    { cwd: app, timeoutMs: 60_000 },
  );
}, 90_000);

afterAll(async () => {
  await tp?.dispose();
  tmp.cleanup();
}, 30_000);

test('npm pack ships the built ESM, its declarations, README, licence, changelog and firmware docs, and nothing else', () => {
  expect(files).toContain('dist/index.js');
  expect(files).toContain('LICENSE');
  expect(files).toContain('CHANGELOG.md');
  expect(files).toContain('dist/index.d.ts');
  expect(files).toContain('dist/cjs/index.js');
  expect(files).toContain('dist/cjs/package.json');
  expect(files).toContain('README.md');
  expect(files).toContain('docs/firmware.md');
  expect(files).toContain('package.json');
  expect(files).toContain('docs/examples/publish-event.c');
  const shipped =
    /^(dist\/(cjs\/)?[\w-]+\.(js|d\.ts)|dist\/cjs\/package\.json|README\.md|CHANGELOG\.md|LICENSE|docs\/[\w-]+\.md|docs\/examples\/[\w-]+\.c|package\.json)$/;
  expect(files.filter((f) => !shipped.test(f))).toEqual([]);
  expect(existsSync(join(app, 'node_modules/debug-queue/dist/index.d.ts'))).toBe(true);
});

test('the package is open source and ready to publish: an SPDX licence with its text, the version in the changelog', async () => {
  const installed = join(app, 'node_modules/debug-queue');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    license: string;
    version: string;
    types: string;
  };
  expect(manifest.license).toBe('Apache-2.0');
  expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain('Apache License');
  expect(readFileSync(join(installed, 'CHANGELOG.md'), 'utf8')).toContain(`## [${manifest.version}]`);
  expect(existsSync(join(installed, manifest.types))).toBe(true);
  // --dry-run publishes nothing; the only warning allowed is that this machine is not logged in.
  const r = await run('npm', ['publish', '--dry-run'], { cwd: packageRoot, timeoutMs: 60_000 });
  expect(r.code).toBe(0);
  const warnings = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => /npm (warn|error)/i.test(l) && !/requires you to be logged in/.test(l));
  expect(warnings).toEqual([]);
});

test('under node, the packed package delivers over HTTP (default instance from env) and MQTT', async () => {
  const r = await run('node', ['node-consumer.mjs'], {
    cwd: app,
    env: cleanEnv({
      DEBUG_QUEUE_URL: tp.url,
      DEBUG_QUEUE_API_KEY: 'station-key-01',
      DQ_MQTT_URL: 'mqtt://127.0.0.1:1883',
      DQ_PREFIX: tp.prefix,
    }),
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { node: string; http: boolean; mqtt: boolean };
  expect(Number(out.node.slice(1).split('.')[0])).toBeGreaterThanOrEqual(20);
  const [httpEvent] = await tp.events({ correlationId: 'txn-node-http' });
  expect(httpEvent).toMatchObject({
    eventType: 'SESSION_DROP',
    service: 'SessionManager',
    errorCode: 'TIMEOUT',
    priority: 'high',
    source: 'http',
    details: { userId: '123', sessionId: 'abc', edgeDevice: 'EV-Station-01' },
  });
  expect(await tp.logs({ correlationId: 'txn-node-http' })).toHaveLength(1);
  const [mqttEvent] = await waitFor('the MQTT event', () =>
    tp.events({ correlationId: 'txn-node-mqtt' }).then((e) => (e.length ? e : undefined)),
  );
  expect(mqttEvent).toMatchObject({ service: 'ocpp', errorCode: 'WebsocketPongTimeout', source: 'mqtt' });
  expect(mqttEvent?.details).toEqual({ retryBackoffWaitMinimum: '3' });
});

test("under node, require('debug-queue') works (the CommonJS entry) and delivers, and it is not the ESM build", async () => {
  writeFileSync(
    join(app, 'cjs-consumer.cjs'),
    [
      "const dq = require('debug-queue');",
      "const path = require.resolve('debug-queue');",
      "dq.withCorrelationId('txn-node-cjs', () => dq.debugQueue.log('SESSION_DROP', { service: 'SessionManager', errorCode: 'TIMEOUT' }, { priority: 'low' }));",
      'const q = dq.createDebugQueue({ url: process.env.DEBUG_QUEUE_URL, apiKey: process.env.DEBUG_QUEUE_API_KEY });',
      "q.logLine('error', 'CJS consumer line', { service: 'SessionManager', correlationId: 'txn-node-cjs' });",
      'Promise.all([dq.debugQueue.close(5000), q.close(5000)]).then((r) => {',
      '  process.stdout.write(JSON.stringify({ path, delivered: r, names: Object.keys(dq).sort() }));',
      '});',
    ].join('\n'),
  );
  const r = await run('node', ['cjs-consumer.cjs'], {
    cwd: app,
    env: cleanEnv({ DEBUG_QUEUE_URL: tp.url, DEBUG_QUEUE_API_KEY: 'station-key-01' }),
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { path: string; delivered: boolean[]; names: string[] };
  expect(out.path).toEndWith('node_modules/debug-queue/dist/cjs/index.js');
  expect(out.delivered).toEqual([true, true]);
  expect(out.names).toEqual(
    expect.arrayContaining(['createDebugQueue', 'debugQueue', 'withCorrelationId', 'wrapConsole']),
  );
  expect(await tp.events({ correlationId: 'txn-node-cjs' })).toHaveLength(1);
  expect((await tp.logs({ correlationId: 'txn-node-cjs' })).map((l) => l.message)).toEqual([
    'CJS consumer line',
  ]);
});

test('under node, wrapConsole leaves the console output byte-identical', async () => {
  const env = {
    DQ_MODULE: join(app, 'node_modules/debug-queue/dist/index.js'),
    DQ_URL: tp.url,
    DQ_API_KEY: 'station-key-01',
  };
  const [plain, wrapped] = await Promise.all([
    run('node', ['console-app.mjs'], { cwd: app, env: { ...env, WRAP: '0' } }),
    run('node', ['console-app.mjs'], { cwd: app, env: { ...env, WRAP: '1' } }),
  ]);
  expect(plain.code).toBe(0);
  expect(plain.stderr).toContain('Yeti UART timeout!');
  expect(wrapped.stdout).toBe(plain.stdout);
  expect(wrapped.stderr).toBe(plain.stderr);
  const logs = await tp.logs({ correlationId: 'txn-console-9' });
  expect(logs.map((l) => l.level).sort()).toEqual(['error', 'error', 'warn']);
  // console.log is forwarded by default (as info), under node too.
  const all = await tp.logs({ service: 'evse_manager_1' });
  expect(all.filter((l) => l.message === 'EvseManager: connector 1 state Charging')).toMatchObject([
    { level: 'info' },
  ]);
});

test('without the optional mqtt package, an mqtt:// queue says so once and rejects instead of hoarding', async () => {
  const bare = join(tmp.dir, 'bare');
  mkdirSync(join(bare, 'node_modules'), { recursive: true });
  cpSync(join(app, 'node_modules/debug-queue'), join(bare, 'node_modules/debug-queue'), { recursive: true });
  writeFileSync(
    join(bare, 'no-mqtt.mjs'),
    [
      "import { createDebugQueue } from 'debug-queue';",
      "const q = createDebugQueue({ url: 'mqtt://127.0.0.1:1883' });",
      "for (let i = 0; i < 3; i++) q.log('SESSION_DROP', { service: 'evse_manager_1', errorCode: 'EVCommunicationError' });",
      'const flushed = await q.flush(5000);',
      'process.stdout.write(JSON.stringify({ flushed, stats: q.stats().primary }));',
      'await q.close(1000);',
    ].join('\n'),
  );
  const r = await run('node', ['no-mqtt.mjs'], { cwd: bare, env: cleanEnv() });
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { flushed: boolean; stats: { rejected: number; queued: number } };
  expect(out.flushed).toBe(true);
  expect(out.stats).toMatchObject({ rejected: 3, queued: 0 });
  const notices = r.stderr.split('\n').filter((l) => l.startsWith('debug-queue:'));
  expect(notices).toHaveLength(1);
  expect(notices[0]).toContain('npm install mqtt');
});

test('the packed declarations type-check in a strict NodeNext TypeScript project', async () => {
  const r = await typeCheck!;
  expect(r.stdout + r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 60_000);
