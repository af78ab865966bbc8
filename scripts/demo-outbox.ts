#!/usr/bin/env bun
// Connected-mode demo (docs/connected-mode.md, "Done when"): a local fake Slack is down, triggering
// events produce reports that pile up in the outbox, Slack comes back, and every report is posted
// exactly once, in order.
//
//   npx bun scripts/demo-outbox.ts [outageSeconds=20] [reports=10]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeSlack } from '../tests/deliver/support/fake-slack.ts';

const outageS = Number(process.argv[2] ?? 20);
const count = Number(process.argv[3] ?? 10);
const root = resolve(import.meta.dir, '..');
const t0 = Date.now();
const say = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

const freePort = async () => {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const p = s.port ?? 0;
  s.stop(true);
  return p;
};

const slack = await startFakeSlack();
await slack.down();
say(`fake Slack at ${slack.url} is DOWN (connection refused)`);

const dir = mkdtempSync(join(tmpdir(), 'tp-demo-outbox-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
// Run from the repository so Bun applies its tsconfig (the UI's JSX import source) to the sources.
const child = Bun.spawn([process.execPath, join(root, 'src/main.ts'), 'serve'], {
  cwd: root,
  env: {
    PATH: process.env.PATH ?? '',
    TRACEPULSE_PORT: String(port),
    TRACEPULSE_HOST: '127.0.0.1',
    TRACEPULSE_DATA_DIR: dir,
    TRACEPULSE_SYSTEM_MAP: join(root, 'system-map.yaml'),
    TRACEPULSE_STATION_ID: 'EV-Station-01',
    TRACEPULSE_PUBLIC_URL: 'http://gateway-site-042.local:3000',
    TRACEPULSE_STORM_WINDOW_S: '0',
    TRACEPULSE_OUTBOX_BACKOFF_MS: '500',
    TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '5000',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    SLACK_CHANNEL: '#station-debug',
  },
  stdout: 'ignore',
  stderr: 'pipe',
});
const logs: string[] = [];
(async () => {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const line of value.split('\n')) if (/outbox|channel|slack/i.test(line)) logs.push(line);
  }
})();

const cleanup = async () => {
  child.kill('SIGTERM');
  await child.exited;
  await slack.stop();
  rmSync(dir, { recursive: true, force: true });
};

try {
  for (let i = 0; ; i++) {
    if (i > 200) throw new Error('TracePulse did not start');
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    await Bun.sleep(50);
  }
  say(`TracePulse serving at ${base}`);

  const codes = [
    'MREC4OverCurrentFailure',
    'MREC14PilotFault',
    'PowermeterTransactionStartFailed',
    'MREC5OverVoltage',
  ];
  for (let i = 0; i < count; i++) {
    const r = await fetch(`${base}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: `demo-${i}`,
        eventType: 'CHARGING_FAULT',
        service: i % 2 ? 'evse_manager_1' : 'evse_manager_2',
        errorCode: codes[i % codes.length],
        correlationId: `session-demo-${i}`,
        details: { connector: String((i % 2) + 1), idTag: `04A2B3C4D5${String(i).padStart(4, '0')}` },
        timestamp: Date.now() - (count - i) * 1000,
      }),
    });
    if (!r.ok) throw new Error(`event ${i}: HTTP ${r.status}`);
  }
  say(`posted ${count} triggering events`);

  const outbox = async () =>
    (await (await fetch(`${base}/api/outbox?channel=slack&limit=1000`)).json()) as {
      messages: Array<{ status: string; reportId: string; id: number }>;
      channels: Record<string, { link: string }>;
      oldestPendingAgeS: Record<string, number>;
    };
  const upAt = Date.now() + outageS * 1000;
  while (Date.now() < upAt) {
    const o = await outbox();
    const pending = o.messages.filter((m) => m.status !== 'sent').length;
    say(
      `outbox: ${pending} pending for Slack, link ${o.channels.slack?.link ?? '?'}, oldest ${o.oldestPendingAgeS.slack ?? 0} s; Slack has ${slack.messages.length} messages`,
    );
    await Bun.sleep(Math.min(5000, Math.max(0, upAt - Date.now())));
  }

  await slack.up();
  const backAt = Date.now();
  say('fake Slack is UP again');
  const expected = (await outbox()).messages.length;
  while (slack.messages.length < expected) {
    if (Date.now() - backAt > 60_000) throw new Error('not drained within 60 s');
    await Bun.sleep(20);
  }
  const drainedMs = Date.now() - backAt;
  await Bun.sleep(500);
  const o = await outbox();
  const ids = o.messages
    .slice()
    .sort((a, b) => a.id - b.id)
    .map((m) => m.reportId);
  const posted = slack.messages.map((m) => String(m.metadata?.event_payload.report_id));
  const unique = new Set(posted).size;
  const posts = slack.calls.filter((c) => c.method === 'chat.postMessage' && c.at >= backAt).map((c) => c.at);
  const firstAt = posts[0] ?? backAt;
  const spanMs = Math.max(1, (posts.at(-1) ?? firstAt) - firstAt);
  say(
    `drained ${expected} messages ${drainedMs} ms after Slack came back: the backed-off probe came after ${firstAt - backAt} ms, then ${expected} posts in ${spanMs} ms (${((expected / spanMs) * 1000).toFixed(0)} msg/s)`,
  );
  say(
    `Slack received ${slack.messages.length} messages, ${unique} distinct reports; in outbox order: ${JSON.stringify(posted) === JSON.stringify(ids)}`,
  );
  say(
    `outbox now: ${o.messages.filter((m) => m.status === 'sent').length} sent, ${o.messages.filter((m) => m.status !== 'sent').length} not sent`,
  );
  const leaked = JSON.stringify(slack.messages).includes('04A2B3C4D5');
  say(`idTag values in what Slack received: ${leaked ? 'PRESENT (bad)' : 'none (redacted)'}`);
  for (const l of logs.slice(-6)) console.log(`    ${l}`);
  const ok = slack.messages.length === expected && unique === expected && !leaked;
  await cleanup();
  process.exit(ok ? 0 : 1);
} catch (err) {
  console.error(String(err));
  for (const l of logs) console.error(`    ${l}`);
  await cleanup();
  process.exit(1);
}
