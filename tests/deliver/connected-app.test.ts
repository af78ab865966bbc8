import { afterAll, describe, expect, test } from 'bun:test';
import type { Report } from '../../src/core/report.ts';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { startFakeOpenAI } from './support/fake-openai.ts';
import { startFakeSlack } from './support/fake-slack.ts';
import { waitFor } from './support/harness.ts';

// The real service in-process (engine, reports store, outbox) against local Slack and OpenAI servers.
const stops: Array<() => unknown> = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

describe('connected mode in the running service', () => {
  test('revision 1 is served at once while the LLM thinks; the rules+llm revision follows and reaches Slack as a thread reply', async () => {
    const slack = await startFakeSlack();
    stops.push(() => slack.stop());
    // The fake model answers slowly and re-ranks: it puts the last candidate of the enum first.
    const llm = await startFakeOpenAI((req) => {
      const schema = req.response_format?.json_schema?.schema as {
        properties: { ranking: { items: { properties: { service: { enum: string[] } } } } };
      };
      const candidates = schema.properties.ranking.items.properties.service.enum;
      return {
        delayMs: 800,
        content: JSON.stringify({
          ranking: [{ service: candidates.at(-1), confidence: 0.55, reason: 'bus errors before the drop' }],
          summary: `Most likely ${candidates.at(-1)}.`,
          explanation: 'The refined explanation.',
          nextSteps: ['Check the PLC link'],
        }),
      };
    });
    stops.push(() => llm.stop());
    const app: TestApp = await startTestApp({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.url,
      OPENAI_BASE_URL: llm.url,
      TRACEPULSE_STATION_ID: 'EV-Station-01',
      TRACEPULSE_PUBLIC_URL: 'http://gateway-site-042.local:3000',
      TRACEPULSE_OUTBOX_BACKOFF_MS: '50',
    });
    stops.push(() => app.close());

    const posted = Date.now();
    const res = await postJson(`${app.url}/webhook/event`, {
      eventType: 'SESSION_DROP',
      service: 'EvseManager',
      errorCode: 'MREC14PilotFault',
      correlationId: 'txn-connected-1',
      details: { idTag: '04A2B3C4D5E6F7', connector: '1' },
      priority: 'high',
    });
    expect(res.status).toBe(200);
    let first: Report | undefined;
    await waitFor('report', async () => {
      const r = (await (await fetch(`${app.url}/api/reports?correlationId=txn-connected-1`)).json()) as {
        reports: Report[];
      };
      first = r.reports[0];
      return first !== undefined;
    });
    if (!first) throw new Error('unreachable');
    const id = first.id;
    // Served locally long before the model answered.
    expect(Date.now() - posted).toBeLessThan(800);
    expect(first.revision).toBe(1);
    expect(first.source).toBe('rules');

    await waitFor(
      'revision 2',
      async () => ((await (await fetch(`${app.url}/api/reports/${id}`)).json()) as Report).revision === 2,
      5000,
    );
    const refined = (await (await fetch(`${app.url}/api/reports/${id}`)).json()) as Report;
    expect(refined.source).toBe('rules+llm');
    expect(refined.revisions?.map((r) => r.source)).toEqual(['rules', 'rules+llm']);
    expect(refined.revisions?.[0]?.hypotheses).toEqual(first.hypotheses);

    await waitFor('post and thread reply', () => slack.messages.length === 2, 5000);
    expect(slack.messages[1]!.thread_ts).toBe(slack.messages[0]!.ts);
    expect(JSON.stringify(slack.messages)).not.toContain('04A2B3C4D5E6F7');
    expect(JSON.stringify(llm.requests)).not.toContain('04A2B3C4D5E6F7');
    expect(JSON.stringify(slack.messages[0]!.blocks)).toContain(
      `http://gateway-site-042.local:3000/chat/r/${first.id}`,
    );

    const outbox = (await (await fetch(`${app.url}/api/outbox?status=sent`)).json()) as {
      messages: Array<{ channel: string; kind: string }>;
    };
    expect(outbox.messages.map((m) => `${m.channel}:${m.kind}`).sort()).toEqual([
      'llm:created',
      'slack:created',
      'slack:revised',
    ]);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('tracepulse_outbox_messages{channel="slack",status="sent"} 2');
    expect(metrics).toContain('tracepulse_outbox_messages{channel="llm",status="pending"} 0');
    expect(metrics).toContain('tracepulse_outbox_oldest_pending_age_seconds{channel="slack"} 0');
    const health = (await (await fetch(`${app.url}/healthz`)).json()) as {
      components: { outbox: Record<string, { link: string }> };
    };
    expect(health.components.outbox.slack?.link).toBe('up');
  }, 15_000);
});
