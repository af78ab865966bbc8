import { afterAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import {
  createProcessGroup,
  createTempDirs,
  freePort,
  httpStatus,
  repoRoot,
  waitFor,
} from '../deploy/support.ts';
import { startFakeSlack } from './support/fake-slack.ts';

// The real service as a child process (`bun src/main.ts serve`), killed with SIGKILL while
// reports wait in the outbox and one post is in flight, then restarted on the same data dir.
const procs = createProcessGroup();
const dirs = createTempDirs('tp-outbox-kill9');
const stoppers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await procs.killAll();
  for (const s of stoppers) await s();
  dirs.cleanup();
});

/**
 * `bun src/main.ts serve` with its data in dataDir. Run from the repository (not the data dir) so
 * Bun applies the repository's tsconfig (the UI's JSX import source) when it loads the sources.
 */
async function serve(dataDir: string, env: Record<string, string>) {
  const port = await freePort();
  const proc = procs.spawn([process.execPath, join(repoRoot, 'src/main.ts'), 'serve'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_PORT: String(port),
      TRACEPULSE_DATA_DIR: dataDir,
      TRACEPULSE_SYSTEM_MAP: join(repoRoot, 'system-map.yaml'),
      TRACEPULSE_STATION_ID: 'EV-Station-01',
      ...env,
    },
  });
  const chunks: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(decoder.decode(r.value));
  })();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'healthy',
    async () => {
      if (proc.exitCode !== null) throw new Error(`tracepulse exited:\n${chunks.join('')}`);
      return (await httpStatus(`${url}/healthz`, 1000)) === 200;
    },
    15_000,
  );
  return { proc, url, output: () => chunks.join('') };
}

describe('outbox across kill -9', () => {
  test('reports pending while Slack is down, and one post in flight at the kill, each arrive exactly once after a restart', async () => {
    const slack = await startFakeSlack();
    stoppers.push(() => slack.stop());
    await slack.down();
    const dataDir = dirs.make();
    const env = {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.url,
      TRACEPULSE_STORM_WINDOW_S: '0',
      TRACEPULSE_OUTBOX_BACKOFF_MS: '50',
      TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '200',
      TRACEPULSE_OUTBOX_TIMEOUT_MS: '30000',
    };
    const first = await serve(dataDir, env);
    const n = 5;
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${first.url}/webhook/event`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: `kill9-${i}`,
          eventType: 'CHARGING_FAULT',
          service: 'evse_manager_2',
          errorCode: 'MREC4OverCurrentFailure',
          correlationId: `session-kill9-${i}`,
          details: { connector: '2', idTag: `04A2B3C4D5E6${i}` },
          timestamp: Date.now() - (n - i) * 1000,
        }),
      });
      expect(res.status).toBe(200);
    }
    const outbox = async (url: string) =>
      (await (await fetch(`${url}/api/outbox?channel=slack`)).json()) as {
        messages: Array<{ id: number; status: string; reportId: string }>;
      };
    await waitFor(
      'five pending Slack messages',
      async () => (await outbox(first.url)).messages.length === n,
      10_000,
    );
    const order = (await outbox(first.url)).messages.sort((a, b) => a.id - b.id).map((m) => m.reportId);

    // Slack comes back but the answer to the first post never arrives: it is posted, and in flight.
    slack.hangAfterPost(1);
    await slack.up();
    await waitFor('first post made, answer pending', () => slack.messages.length === 1, 5000);
    expect((await outbox(first.url)).messages.filter((m) => m.status === 'inflight')).toHaveLength(1);
    first.proc.kill('SIGKILL');
    await first.proc.exited;

    const second = await serve(dataDir, env);
    await waitFor(
      'every message sent',
      async () => (await outbox(second.url)).messages.every((m) => m.status === 'sent'),
      10_000,
    );
    // Every row sent and the first process gone: nothing is left that could post again.
    const posted = slack.messages.map((m) => String(m.metadata?.event_payload.report_id));
    expect(posted).toEqual(order);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(n);
    expect(slack.calls.some((c) => c.method === 'conversations.history')).toBe(true);
    expect(second.output()).toContain('re-queued messages that were in flight');
    second.proc.kill('SIGTERM');
    expect(await second.proc.exited).toBe(0);
  }, 30_000);
});
