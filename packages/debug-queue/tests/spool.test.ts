import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDebugQueue } from '../src/index.ts';
import {
  freePort,
  packageRoot,
  startTracePulse,
  type TracePulse,
  tempDir,
  waitFor,
} from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const fast = { retryInitialMs: 20, retryMaxMs: 200, timeoutMs: 2000, silent: true };

function spooledAdds(file: string): Array<{ key: string; kind: string }> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"add"'))
    .map((l) => (JSON.parse(l) as { add: { key: string; kind: string } }).add);
}

let tp: TracePulse;
const tmp = tempDir('spool');
beforeAll(async () => {
  tp = await startTracePulse();
}, 30_000);
afterAll(async () => {
  await tp.dispose();
  tmp.cleanup();
});

test('events not delivered before close() are spooled and delivered by the next instance, same ids', async () => {
  const spoolFile = join(tmp.dir, 'restart.spool');
  const down = `http://127.0.0.1:${await freePort()}`;
  const a = createDebugQueue({ url: down, spoolFile, ...fast });
  for (let i = 0; i < 20; i++) {
    a.log('CSMS_DISCONNECTED', {
      service: 'ocpp',
      errorCode: 'WebsocketPongTimeout',
      correlationId: `txn-sp-${i}`,
    });
  }
  for (let i = 0; i < 5; i++)
    a.logLine('warn', `WebsocketLibwebsockets::reconnect attempt ${i}`, { service: 'ocpp' });
  expect(await a.close(200)).toBe(false);
  const spooled = spooledAdds(spoolFile);
  expect(spooled).toHaveLength(25);
  const eventIds = spooled.filter((s) => s.kind === 'event').map((s) => s.key);

  const b = createDebugQueue({ url: tp.url, spoolFile, ...fast });
  expect(await b.flush(5000)).toBe(true);
  expect(b.stats().primary?.spool?.recovered).toBe(25);
  const events = (await tp.events({ service: 'ocpp' })).filter((e) => e.correlationId?.startsWith('txn-sp-'));
  expect(events.map((e) => e.id).sort()).toEqual(eventIds.sort());
  expect(
    (await tp.logs({ service: 'ocpp' })).filter((l) => l.message.startsWith('WebsocketLibwebsockets')),
  ).toHaveLength(5);
  await b.close();
  expect(existsSync(spoolFile)).toBe(false); // nothing left undelivered: no file
});

test('a station process killed with SIGKILL loses nothing that reached the spool, and a torn last line is skipped', async () => {
  const spoolFile = join(tmp.dir, 'crash.spool');
  const down = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [join(packageRoot, 'tests/fixtures/spool-crash-app.ts')], {
    env: { ...process.env, DQ_URL: down, DQ_SPOOL: spoolFile },
    stdio: 'ignore',
  });
  try {
    await waitFor('16 items in the spool', () => spooledAdds(spoolFile).length === 16);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  appendFileSync(spoolFile, '{"add":{"key":"torn-by-power-cut","kind":"ev');

  const b = createDebugQueue({ url: tp.url, spoolFile, ...fast });
  expect(await b.flush(5000)).toBe(true);
  const spool = b.stats().primary?.spool;
  expect(spool?.recovered).toBe(16);
  expect(spool?.corruptLines).toBe(1);
  const events = await tp.events({ service: 'evse_manager_2' });
  const mine = events.filter((e) => e.correlationId?.startsWith('txn-crash-'));
  expect(mine).toHaveLength(15);
  expect(mine.filter((e) => e.priority === 'low')).toHaveLength(5);
  expect(mine.every((e) => e.details.stopReason === 'PowerLoss')).toBe(true);
  const logs = await tp.logs({ correlationId: 'txn-crash-0' });
  expect(logs.map((l) => l.level)).toEqual(['error']);
  await b.close();
});

test('spooled items beyond the new bound are dropped for good, not resurrected at the next start', async () => {
  const spoolFile = join(tmp.dir, 'bound.spool');
  const down = `http://127.0.0.1:${await freePort()}`;
  const a = createDebugQueue({ url: down, spoolFile, ...fast });
  for (let i = 0; i < 20; i++) {
    a.log(
      'IMD_FAULT',
      { service: 'imd', errorCode: 'DeviceFault', correlationId: `txn-bound-${i}` },
      { priority: 'low' },
    );
  }
  expect(await a.close(100)).toBe(false);
  expect(spooledAdds(spoolFile)).toHaveLength(20);

  const b = createDebugQueue({ url: tp.url, spoolFile, maxQueue: 5, ...fast });
  expect(await b.flush(5000)).toBe(true);
  expect(b.stats().primary).toMatchObject({ delivered: 5, dropped: { low: 15, total: 15 } });
  await b.close();
  expect(existsSync(spoolFile)).toBe(false);
  const c = createDebugQueue({ url: tp.url, spoolFile, ...fast });
  expect(await c.flush(5000)).toBe(true);
  expect(c.stats().primary?.spool?.recovered).toBe(0);
  await c.close();
  const stored = (await tp.events({ service: 'imd' })).filter((e) =>
    e.correlationId?.startsWith('txn-bound-'),
  );
  // the newest five survive: the oldest low ones went first
  expect(stored.map((e) => e.correlationId).sort()).toEqual(
    [15, 16, 17, 18, 19].map((i) => `txn-bound-${i}`),
  );
});

test('an event delivered twice (lost ack, replayed spool) is stored once: TracePulse dedups by id', async () => {
  const spoolFile = join(tmp.dir, 'dup.spool');
  const a = createDebugQueue({ url: tp.url, spoolFile, ...fast });
  a.log('IMD_SELF_TEST_FAILED', { service: 'imd', errorCode: 'DeviceFault', correlationId: 'txn-dup-1' });
  expect(await a.flush(5000)).toBe(true);
  const [stored] = await tp.events({ correlationId: 'txn-dup-1' });
  await a.close();
  expect(existsSync(spoolFile)).toBe(false);
  // As if the process died after TracePulse stored the event but before the spool recorded it done.
  const { receivedAt: _r, source: _s, message: _m, ...body } = stored!;
  const replay = {
    kind: 'event',
    key: stored!.id,
    priority: 'high',
    seq: 0,
    body: { ...body, timestamp: Date.parse(stored!.timestamp) },
  };
  writeFileSync(spoolFile, `${JSON.stringify({ add: replay })}\n`);
  const b = createDebugQueue({ url: tp.url, spoolFile, ...fast });
  expect(await b.flush(5000)).toBe(true);
  expect(b.stats().primary?.spool?.recovered).toBe(1);
  expect(b.stats().primary?.delivered).toBe(1);
  const after = await tp.events({ correlationId: 'txn-dup-1' });
  expect(after.map((e) => e.id)).toEqual([stored!.id]);
  await b.close();
});
