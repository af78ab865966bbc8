import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createManualClock } from '../../src/core/clock.ts';
import { type FakeEs, startFakeEs } from '../helpers/es-server.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

let es: FakeEs;
const dirs: string[] = [];
/** Lines of a service and how many distinct ones, read from the app's SQLite store. */
const counted = (dataDir: string, service: string) => {
  const db = new Database(join(dataDir, 'tracepulse.db'), { readonly: true });
  try {
    return db
      .query<{ n: number; distinct: number }, [string]>(
        'SELECT COUNT(*) AS n, COUNT(DISTINCT message) AS "distinct" FROM logs WHERE service = ?',
      )
      .get(service)!;
  } finally {
    db.close();
  }
};
const messages = async (app: TestApp, service = 'OCPP201'): Promise<string[]> =>
  (
    (await (await fetch(`${app.url}/api/logs?service=${service}&limit=1000`)).json()) as {
      logs: Array<{ message: string }>;
    }
  ).logs
    .map((l) => l.message)
    .sort();
let seq = 0;
const index = async (docs: Array<{ ms: number; message: string; service?: string }>) => {
  const body = `${docs
    .map(
      (d) =>
        `{"create":{"_index":"logs-everest-default"}}\n${JSON.stringify({
          '@timestamp': new Date(d.ms).toISOString(),
          service: { name: d.service ?? 'OCPP201' },
          log: { level: 'warn' },
          message: d.message,
          // A unique keyword per document, as Filebeat's add_id processor writes it.
          event: { id: `ev-${String(++seq).padStart(8, '0')}` },
        })}`,
    )
    .join('\n')}\n`;
  expect((await fetch(`${es.url}/_bulk`, { method: 'POST', body })).status).toBe(200);
};

beforeAll(() => {
  es = startFakeEs();
});
afterAll(() => {
  es.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const tiebreaker of [undefined, 'event.id']) {
  describe(
    tiebreaker ? `with a tiebreaker (search_after on @timestamp, ${tiebreaker})` : 'without a tiebreaker',
    () => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      // The poll interval (a minute, so a real timer would never poll within a test's wait) is on a
      // manual clock; the documents' times and the one-second lag are real.
      let timers = createManualClock();
      const start = () => {
        timers = createManualClock();
        return startTestApp(
          {
            TRACEPULSE_DATA_DIR: dataDir,
            TRACEPULSE_ELASTICSEARCH_URL: es.url,
            TRACEPULSE_ELASTICSEARCH_FOLLOW: 'true',
            TRACEPULSE_ELASTICSEARCH_FOLLOW_INTERVAL_MS: '60000',
            ...(tiebreaker ? { TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD: tiebreaker } : {}),
          },
          { scheduler: timers },
        );
      };
      const searches = () => es.requests.filter((r) => r.path.endsWith('/_search')).length;
      /** Moves the clock poll by poll until `n` more searches arrived (so `n - 1` polls finished). */
      const polls = (n: number) => {
        const target = searches() + n;
        return waitFor(
          () => {
            if (searches() >= target) return true;
            timers.advance(60_000);
            return undefined;
          },
          8000,
          `${n} polls`,
        );
      };
      /** Polls until `check` holds (the documents become visible one second after their time). */
      const pollUntil = (check: () => Promise<boolean> | boolean, what: string) =>
        waitFor(
          async () => {
            if (await check()) return true;
            timers.advance(60_000);
            return undefined;
          },
          8000,
          what,
        );

      test('follow mode stores new documents and resumes after an outage, a dropped connection and a restart without a gap or a duplicate', async () => {
        es.docs.length = 0;
        await index([{ ms: Date.now() - 60_000, message: 'before the first start' }]);
        let app = await start();
        const t = Date.now();
        // Two documents share one timestamp: both are stored, once.
        await index([
          { ms: t, message: 'pong timeout A' },
          { ms: t, message: 'pong timeout B' },
        ]);
        await pollUntil(async () => (await messages(app)).length === 2, 'first documents');
        es.mode.status = 503;
        await polls(4);
        es.mode.status = null;
        await index([{ ms: t + 5, message: 'after the outage' }]);
        await pollUntil(async () => (await messages(app)).length === 3, 'after the outage');
        // The connection drops halfway through every answer for a while.
        es.mode.cut = true;
        await index([{ ms: t + 5, message: 'same ms, while the connection drops' }]);
        await polls(4);
        const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
          components: Record<string, { lastError?: string | null }>;
        };
        expect(health.components.elasticsearchFollow?.lastError).toBe('down');
        es.mode.cut = false;
        await pollUntil(async () => (await messages(app)).length === 4, 'after the dropped connection');
        await app.stop();
        await index([
          { ms: t + 5, message: 'same ms as the checkpoint, while stopped' },
          { ms: t + 10, message: 'while stopped' },
        ]);
        app = await start();
        await pollUntil(async () => (await messages(app)).length === 6, 'after the restart');
        // Four more polls finish without storing anything again.
        await polls(5);
        expect(await messages(app)).toEqual(
          [
            'pong timeout A',
            'pong timeout B',
            'after the outage',
            'same ms, while the connection drops',
            'same ms as the checkpoint, while stopped',
            'while stopped',
          ].sort(),
        );
        const after = (await (await fetch(`${app.url}/healthz`)).json()) as {
          components: Record<string, unknown>;
        };
        expect(after.components.elasticsearchFollow).toMatchObject({
          enabled: true,
          lastError: null,
          tiebreaker: tiebreaker ?? null,
        });
        await app.stop();
      }, 60_000);

      if (tiebreaker)
        test('more documents at one millisecond than a page (1000): each stored once, across a restart', async () => {
          es.docs.length = 0;
          let app = await start();
          const t = Date.now();
          await index(
            Array.from({ length: 1500 }, (_, i) => ({ ms: t, message: `burst ${i}`, service: 'Burst' })),
          );
          await pollUntil(() => counted(dataDir, 'Burst').n === 1500, 'the burst');
          await app.stop();
          await index(
            Array.from({ length: 700 }, (_, i) => ({ ms: t, message: `burst b${i}`, service: 'Burst' })),
          );
          app = await start();
          await pollUntil(() => counted(dataDir, 'Burst').n >= 2200, 'the second burst');
          await polls(5);
          expect(counted(dataDir, 'Burst')).toEqual({ n: 2200, distinct: 2200 });
          await app.stop();
        }, 60_000);
    },
  );
}
