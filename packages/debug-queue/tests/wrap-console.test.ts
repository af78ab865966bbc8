import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { join } from 'node:path';
import { packageRoot, startTracePulse, type TracePulse } from './helpers/tracepulse.ts';
import { run } from './helpers/run.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

const app = join(packageRoot, 'tests/fixtures/console-app.mjs');
const src = join(packageRoot, 'src/index.ts');

let tp: TracePulse;
beforeAll(async () => {
  tp = await startTracePulse();
}, 30_000);
afterAll(async () => {
  await tp.dispose();
});

test('wrapConsole leaves stdout and stderr byte-identical and forwards log/info/warn/error with the correlation id', async () => {
  const plain = await run(process.execPath, [app], { env: { DQ_MODULE: src, DQ_URL: tp.url, WRAP: '0' } });
  const wrapped = await run(process.execPath, [app], { env: { DQ_MODULE: src, DQ_URL: tp.url, WRAP: '1' } });
  expect(plain.code).toBe(0);
  expect(wrapped.code).toBe(0);
  expect(plain.stderr).toContain('Yeti UART timeout!');
  expect(wrapped.stdout).toBe(plain.stdout);
  expect(wrapped.stderr).toBe(plain.stderr);

  const logs = await tp.logs({ service: 'evse_manager_1' });
  const byMessage = (start: string) => logs.filter((l) => l.message.startsWith(start));
  expect(byMessage('Power budget expired, falling back to 0 A on connector 1')).toMatchObject([
    { level: 'warn', correlationId: null },
  ]);
  expect(byMessage('PowerDelivery FAILED')).toMatchObject([
    { level: 'error', correlationId: 'txn-console-9' },
  ]);
  expect(byMessage('PowerDelivery FAILED')[0]?.message).toContain("stopReason: 'PowerLoss'");
  expect(byMessage('Error: Yeti UART timeout!')).toMatchObject([
    { level: 'warn', correlationId: 'txn-console-9' },
  ]);
  expect(byMessage('after await:')).toMatchObject([{ level: 'error', correlationId: 'txn-console-9' }]);
  expect(byMessage('percent%')).toHaveLength(1);
  // console.log and console.info are forwarded by default, as info lines; nothing after unwrap()
  expect(byMessage('EvseManager: connector 1 state Charging')).toMatchObject([
    { level: 'info', correlationId: null },
  ]);
  expect(byMessage('info: SessionEvent TransactionStarted')).toMatchObject([{ level: 'info' }]);
  expect(byMessage('after unwrap')).toHaveLength(0);
  expect(logs).toHaveLength(8);
});
