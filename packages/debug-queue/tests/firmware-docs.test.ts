import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './helpers/run.ts';
import {
  packageRoot,
  startTracePulse,
  type TracePulse,
  tempDir,
  uniquePrefix,
  waitFor,
} from './helpers/tracepulse.ts';

// These tests start processes (TracePulse, Mosquitto, node, tsc): give them room on a loaded CI machine.
setDefaultTimeout(30_000);

// The examples in docs/firmware.md, run as written (only the topic prefix is made unique).
const doc = readFileSync(join(packageRoot, 'docs/firmware.md'), 'utf8');
const hasLibmosquitto = existsSync('/usr/include/mosquitto.h') && existsSync('/usr/bin/cc');

let tp: TracePulse;
const tmp = tempDir('firmware');
beforeAll(async () => {
  tp = await startTracePulse({ prefix: uniquePrefix('fw'), waitMqtt: true });
}, 30_000);
afterAll(async () => {
  await tp.dispose();
  tmp.cleanup();
});

test('the mosquitto_pub examples in docs/firmware.md are stored by TracePulse', async () => {
  const block = /```sh\n(mosquitto_pub[\s\S]*?)```/.exec(doc)?.[1];
  expect(block).toBeDefined();
  const script = block!.replaceAll('-t tracepulse/', `-t ${tp.prefix}/`);
  const r = await run('bash', ['-euo', 'pipefail', '-c', script]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [event] = await waitFor('the event', () =>
    tp.events({ correlationId: 'txn-456' }).then((e) => (e.length ? e : undefined)),
  );
  expect(event).toMatchObject({
    id: 'EV-Station-01-boot42-17',
    eventType: 'SESSION_DROP',
    service: 'evse_manager_1',
    errorCode: 'EVCommunicationError',
    priority: 'high',
    source: 'mqtt',
    details: { connectorId: '1', stopReason: 'EVDisconnected' },
  });
  const [line] = await waitFor('the log line', () =>
    tp.logs({ correlationId: 'txn-456' }).then((l) => (l.length ? l : undefined)),
  );
  expect(line).toMatchObject({ level: 'error', message: 'Power budget expired, falling back to 0' });
});

test.skipIf(!hasLibmosquitto)(
  'the libmosquitto example builds with -Wall -Wextra -Werror and its event reaches TracePulse',
  async () => {
    const bin = join(tmp.dir, 'publish-event');
    const cc = await run('cc', [
      '-std=c11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-o',
      bin,
      join(packageRoot, 'docs/examples/publish-event.c'),
      '-lmosquitto',
    ]);
    expect(cc.stderr).toBe('');
    expect(cc.code).toBe(0);
    const r = await run(bin, ['127.0.0.1', '1883', tp.prefix, 'txn-c-789']);
    expect(r.code).toBe(0);
    const [event] = await waitFor('the C event', () =>
      tp.events({ correlationId: 'txn-c-789' }).then((e) => (e.length ? e : undefined)),
    );
    expect(event).toMatchObject({
      eventType: 'SESSION_DROP',
      service: 'evse_manager_1',
      errorCode: 'EVCommunicationError',
      priority: 'high',
      message: 'SLAC: Connection lost in matched state',
      details: {
        connectorId: '1',
        chargerState: 'Charging',
        stopReason: 'EVDisconnected',
        edgeDevice: 'EV-Station-01',
      },
    });
    expect(r.stdout).toContain(event!.id);
  },
);
