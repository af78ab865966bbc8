import { afterEach, describe, expect, test } from 'bun:test';
import { type Clock, createManualClock, type Scheduler, systemClock } from '../../src/core/clock.ts';
import { createOutboxRoutes } from '../../src/http/outbox-routes.ts';
import { type FakeSlack, startFakeSlack } from './support/fake-slack.ts';
import { ID_TAG, sampleEvent, sampleReport, VIN } from './support/fixtures.ts';
import { startHarness, waitFor } from './support/harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  env: Record<string, string> = {},
  slackOpts: { port?: number } = {},
  clock?: Clock & Scheduler,
) {
  const slack = await startFakeSlack(slackOpts);
  cleanups.push(() => slack.stop());
  const h = await startHarness({
    env: { SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url, ...env },
    clock,
  });
  cleanups.push(() => h.cleanup());
  return { slack, h };
}

const blockText = (slack: FakeSlack, i: number) => JSON.stringify(slack.messages[i]?.blocks ?? []);

describe('Slack sink', () => {
  test('a new report is posted once as Block Kit with station, top hypothesis, change link, evidence, report link and owner mentions', async () => {
    const { slack, h } = await setup();
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('the post', () => slack.messages.length === 1);
    await waitFor('sent status', () => h.cm.repo.list({ status: 'sent' }).length === 1);

    const m = slack.messages[0]!;
    const blocks = blockText(slack, 0);
    // Routed to the channel of the top hypothesis' service when it has one, else the failing service's.
    expect(m.channel).toMatch(/^C/);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(blocks).toContain('EV-Station-01');
    expect(blocks).toContain('MREC4OverCurrentFailure');
    expect(blocks).toContain('powermeter_ac');
    expect(blocks).toContain('71%');
    expect(blocks).toContain(
      'https://github.com/EVerest/everest-core/commit/9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
    );
    expect(blocks).toContain('Modbus read_register timeout');
    expect(blocks).toContain(`http://gateway-site-042.local:3000/chat/r/${report.id}`);
    // Owners of the top hypothesis (powermeter_ac) and the failing service become mentions.
    expect(m.text).toContain('<@U0METERS01>');
    expect(m.text).toContain('<@U0EVSECORE1>');
    expect(m.metadata?.event_type).toBe('tracepulse_report');
    expect(m.metadata?.event_payload.key).toBe(`slack:${report.id}:created`);
    const row = h.cm.repo.list({ status: 'sent' })[0]!;
    expect(row.result).toEqual({ channel: m.channel, ts: m.ts });
  });

  test('the service channel from the map is used, and SLACK_CHANNEL otherwise', async () => {
    const { slack, h } = await setup({ SLACK_CHANNEL: '#station-debug' });
    h.reports.create(sampleReport(), sampleEvent());
    // Top hypothesis on a service without channel and a failing service without channel -> default.
    h.reports.create(
      sampleReport({
        service: 'ocpp',
        hypotheses: sampleReport().hypotheses.map((x) => ({ ...x, service: 'ocpp' })),
      }),
      sampleEvent(),
    );
    await waitFor('two posts', () => slack.messages.length === 2);
    const list = (await (
      await fetch(`${slack.url}conversations.list`, {
        method: 'POST',
        headers: { authorization: `Bearer ${slack.token}` },
      })
    ).json()) as { channels: Array<{ id: string; name: string }> };
    const nameOf = (id: string) => list.channels.find((c) => c.id === id)?.name;
    expect(nameOf(slack.messages[0]!.channel)).toBe('evse-alerts');
    expect(nameOf(slack.messages[1]!.channel)).toBe('station-debug');
  });

  test('Slack down for a while, then up: every message arrives once, in order', async () => {
    // The back-off on a manual clock: each advance past it is one more try against the closed port.
    const clock = createManualClock(Date.now());
    const { slack, h } = await setup({}, {}, clock);
    await slack.down();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = sampleReport();
      ids.push(r.id);
      h.reports.create(r, sampleEvent());
    }
    h.cm.worker.wake();
    await waitFor('channel marked down', () => h.cm.worker.channels().slack?.link === 'down');
    const failures = () =>
      h.metrics.get('tracepulse_outbox_failures_total', { channel: 'slack', kind: 'unreachable' });
    for (let n = 2; n <= 6; n++) {
      clock.advance(1_000); // past the longest back-off (150 ms here)
      await waitFor(`try ${n}`, () => failures() === n);
    }
    expect(h.cm.worker.channels().slack?.consecutiveFailures).toBe(6);
    // Waiting: pending, or the head caught mid-try (inflight).
    expect(h.cm.repo.list({}).filter((r) => r.status === 'pending' || r.status === 'inflight')).toHaveLength(
      6,
    );
    expect(h.cm.repo.list({ status: 'dead' })).toHaveLength(0);
    await slack.up();
    clock.advance(1_000);
    // Every row marked sent: no send is left that could post a seventh message.
    await waitFor('all marked sent', () => h.cm.repo.list({ status: 'sent' }).length === 6, 5000);
    expect(slack.messages.map((m) => m.metadata?.event_payload.report_id)).toEqual(ids);
    expect(h.metrics.render()).toMatch(/tracepulse_outbox_messages\{channel="slack",status="sent"\} 6/);
    expect(h.metrics.render()).toMatch(/tracepulse_outbox_messages\{channel="slack",status="pending"\} 0/);
  });

  test('429 with Retry-After: the next try waits at least that long', async () => {
    const clock = createManualClock(Date.now());
    const { slack, h } = await setup({}, {}, clock);
    slack.rateLimit(1, 1);
    h.reports.create(sampleReport(), sampleEvent());
    h.cm.worker.wake();
    const posts = () => slack.calls.filter((c) => c.method === 'chat.postMessage');
    await waitFor('the rate-limited post', () => h.cm.worker.channels().slack?.nextAttemptAt !== null);
    expect(posts()).toHaveLength(1);
    clock.advance(999);
    await Bun.sleep(0);
    expect(posts()).toHaveLength(1);
    clock.advance(101); // Retry-After plus at most 10 % jitter
    await waitFor('delivered', () => slack.messages.length === 1, 4000);
    expect(posts()).toHaveLength(2);
    // A rate limit is not a failure that counts towards dead-lettering.
    await waitFor('sent', () => h.cm.repo.list({ status: 'sent' }).length === 1);
    expect(h.cm.repo.list({ status: 'sent' })[0]!.failures).toBe(0);
  });

  test('an answer lost after Slack posted: the retry finds the earlier post and does not post again', async () => {
    const { slack, h } = await setup();
    slack.dropAfterPost(1);
    h.reports.create(sampleReport(), sampleEvent());
    await waitFor('sent', () => h.cm.repo.list({ status: 'sent' }).length === 1, 4000);
    expect(slack.messages).toHaveLength(1);
    const methods = slack.calls.map((c) => c.method);
    expect(methods.filter((m) => m === 'chat.postMessage')).toHaveLength(1);
    expect(methods).toContain('conversations.history');
    const row = h.cm.repo.list({ status: 'sent' })[0]!;
    expect(row.result).toMatchObject({ ts: slack.messages[0]!.ts, recovered: true });
  });

  test('a refinement and a growing storm go as thread replies under the first message, never as new alerts', async () => {
    const { slack, h } = await setup();
    const report = sampleReport({ incidentId: 'inc-7' });
    h.reports.create(report, sampleEvent());
    h.reports.addRevision(report.id, {
      hypotheses: report.hypotheses,
      summary: 'The AC meter reused a stale value after a Modbus timeout.',
      explanation: 'The stale current reading exceeded the limit.',
      nextSteps: ['Check the RS485 wiring of the AC meter'],
      source: 'rules+llm',
    });
    // As the reports store does: the 2nd and 3rd triggers of the storm are new reports, announced as 'incident'.
    h.reports.incident(sampleReport(), 'inc-7', 2);
    h.reports.incident(sampleReport(), 'inc-7', 3);
    // All three rows sent: no send is left that could post a fourth message.
    await waitFor('three sent', () => h.cm.repo.list({ status: 'sent' }).length === 3, 4000);
    const [first, ...replies] = slack.messages;
    expect(slack.topLevel()).toHaveLength(1);
    for (const r of replies) expect(r.thread_ts).toBe(first!.ts);
    expect(JSON.stringify(replies[0]!.blocks)).toContain('Check the RS485 wiring');
    // The two storm updates were folded into one message while the first was waiting.
    expect(replies).toHaveLength(2);
    expect(
      h.metrics.get('tracepulse_outbox_enqueued_total', { channel: 'slack', outcome: 'coalesced' }),
    ).toBe(1);
    expect(JSON.stringify(replies.at(-1)!.blocks)).toContain('3 occurrences');
  });

  test('a permanent Slack error dead-letters the message; retry via the API delivers it', async () => {
    const { slack, h } = await setup();
    slack.failWith('chat.postMessage', 1, 'not_in_channel');
    h.reports.create(sampleReport(), sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead' }).length === 1);
    // The outbox routes as app.ts mounts them over connected mode's repo and worker.
    const routes = createOutboxRoutes({ repo: h.cm.repo, worker: h.cm.worker, clock: systemClock });
    const res = await routes.request('/api/outbox?status=dead');
    const body = (await res.json()) as { messages: Array<{ id: number; lastError: string }> };
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]!.lastError).toContain('not_in_channel');
    const retry = await routes.request(`/api/outbox/${body.messages[0]!.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(200);
    await waitFor('delivered after retry', () => slack.messages.length === 1);
    expect(
      (await routes.request(`/api/outbox/${body.messages[0]!.id}/retry`, { method: 'POST' })).status,
    ).toBe(409);
    expect((await routes.request('/api/outbox/99999/retry', { method: 'POST' })).status).toBe(404);
  });

  test('redaction: idTag and VIN leave neither as fields nor inside evidence text', async () => {
    const { slack, h } = await setup();
    h.reports.create(sampleReport(), sampleEvent());
    await waitFor('posted', () => slack.messages.length === 1);
    const wire = JSON.stringify(slack.messages[0]);
    expect(wire).not.toContain(ID_TAG);
    expect(wire).not.toContain(VIN);
    expect(wire).toContain('[redacted]');
    // The stored outbox payload is the redacted snapshot too.
    const stored = JSON.stringify(h.cm.repo.list({})[0]!.payload);
    expect(stored).not.toContain(ID_TAG);
    expect(stored).not.toContain(VIN);
    // The local report keeps the values.
    expect(JSON.stringify(h.reports.list())).toContain(ID_TAG);
  });
});
