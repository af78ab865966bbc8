import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestCommand } from '../../src/cli/ingest.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

// The libocpp .log fixture (format: EVerest/libocpp@0a1880a:lib/ocpp/common/ocpp_logging.cpp), written
// in two parts as libocpp would while a session runs.
const fixture = readFileSync(
  join(import.meta.dir, '..', 'fixtures', 'ocpp', 'libocpp-16-session.log'),
  'utf8',
);
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_DATA_DIR: tempDir() });
});
afterAll(async () => {
  await app?.close();
});
const sink = () => {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), text: () => chunks.join('') };
};

describe('tracepulse ingest ocpp-log', () => {
  test('--follow sends entries as the file grows, holding back the entry still being written', async () => {
    const file = join(tempDir(), 'ocpp.log');
    // Cut in the middle of the StartTransaction response's JSON.
    const cut = fixture.indexOf('"transactionId": 42');
    writeFileSync(file, fixture.slice(0, cut));
    const stop = new AbortController();
    const out = sink();
    const err = sink();
    const done = ingestCommand(
      ['ocpp-log', file, '--charge-point', 'cp-follow', '--url', app.url, '--follow'],
      {
        out,
        err,
        signal: stop.signal,
      },
    );
    const lines = async () =>
      (
        (await (await fetch(`${app.url}/api/logs?service=ocpp&limit=500`)).json()) as {
          logs: Array<{ message: string; attributes: Record<string, unknown> | null }>;
        }
      ).logs.filter((l) => l.attributes?.chargePointId === 'cp-follow');
    // The Authorize, its Preparing status and the StartTransaction CALL are in; the cut response is not.
    await waitFor(async () =>
      (await lines()).some((l) => l.message.startsWith('OCPP cp->csms CALL StartTransaction')),
    );
    expect(
      (await lines()).some((l) => l.message.startsWith('OCPP csms->cp CALLRESULT StartTransaction')),
    ).toBe(false);
    appendFileSync(file, fixture.slice(cut));
    await waitFor(
      async () => (await lines()).some((l) => l.message.startsWith('OCPP cp->csms CALL Heartbeat')),
      5000,
    );
    stop.abort();
    expect(await done).toBe(0);
    expect(err.text()).toBe('');
    expect(out.text()).toBe('sent 21 frames and 7 log lines; 0 rejected\n');
  });

  test('a file that is not a libocpp log: every line is reported and the exit code is 1', async () => {
    const file = join(tempDir(), 'not.log');
    writeFileSync(file, 'hello\nworld\n');
    const err = sink();
    expect(
      await ingestCommand(['ocpp-log', file, '--charge-point', 'cp-x', '--url', app.url], {
        out: sink(),
        err,
      }),
    ).toBe(1);
    expect(err.text()).toContain('not.log:1: text outside an entry');
    expect(await ingestCommand(['ocpp-log', file], { out: sink(), err: sink() })).toBe(2);
  });
});
