import { afterEach, describe, expect, test } from 'bun:test';
import type { Change } from '../../src/core/change.ts';
import type { ChangeSource } from '../../src/core/ports.ts';
import { buildUserPrompt } from '../../src/deliver/llm-prompt.ts';
import { createFeedbackStore } from '../../src/store/feedback-store.ts';
import { startFakeOpenAI } from './support/fake-openai.ts';
import { startFakeSlack } from './support/fake-slack.ts';
import { ID_TAG, sampleEvent, sampleReport, testGraph, VIN } from './support/fixtures.ts';
import { startHarness, waitFor } from './support/harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const goodAnswer = JSON.stringify({
  ranking: [
    { service: 'comm_hub', confidence: 0.62, reason: 'txrx timeouts precede the stale meter value' },
    { service: 'powermeter_ac', confidence: 0.3, reason: 'reuses the last value on timeout' },
  ],
  summary: 'The shared RS485 bus (SerialCommHub) timed out, so the AC meter reported a stale current.',
  explanation: 'TinyModbusRTU::txrx timed out at 08:40:58; GenericPowermeter reused its last value.',
  nextSteps: ['Check RS485 termination on /dev/ttymxc2', 'Revert 9f3c2a1 on a test station'],
});

const changes: ChangeSource = {
  changesBetween: (): Change[] => [
    {
      id: 'gh:9f3c2a1b',
      sha: '9f3c2a1b7d4e5f60718293a4b5c6d7e8f9012345',
      service: 'powermeter_ac',
      kind: 'commit',
      timestamp: Date.UTC(2026, 10, 23),
      summary: 'GenericPowermeter: reuse last value on Modbus timeout',
      files: ['modules/HardwareDrivers/PowerMeters/GenericPowermeter/main/powermeterImpl.cpp'],
      diff: [
        'diff --git a/modules/HardwareDrivers/PowerMeters/GenericPowermeter/main/powermeterImpl.cpp b/modules/HardwareDrivers/PowerMeters/GenericPowermeter/main/powermeterImpl.cpp',
        '@@ -120,7 +120,9 @@ bool powermeterImpl::read_register(...)',
        '-    return false;',
        '+    // keep publishing the last value on a Modbus timeout',
        '+    return last_value_valid;',
      ].join('\n'),
      author: 'Jane Engineer',
      url: null,
      repo: 'EVerest/everest-core',
    },
  ],
};

async function setup(
  answer: Parameters<typeof startFakeOpenAI>[0],
  env: Record<string, string> = {},
  server: Parameters<typeof startFakeOpenAI>[1] = {},
) {
  const llm = await startFakeOpenAI(answer, server);
  cleanups.push(() => llm.stop());
  const h = await startHarness({
    env: { OPENAI_BASE_URL: llm.url, TRACEPULSE_LLM_MODEL: 'qwen2.5:7b-instruct', ...env },
    changes,
  });
  cleanups.push(() => h.cleanup());
  return { llm, h };
}

describe('LLM refinement', () => {
  test('revision 1 is served at once; the refined revision (rules+llm) follows, re-ranked within the candidates', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.stop());
    const { llm, h } = await setup(() => ({ content: goodAnswer, delayMs: 300 }), {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.url,
    });
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    // The local report does not wait for the network.
    expect(h.reports.get(report.id)?.revision).toBe(1);
    await waitFor('revision 2', () => h.reports.get(report.id)?.revision === 2, 5000);
    const refined = h.reports.get(report.id)!;
    expect(refined.source).toBe('rules+llm');
    expect(refined.hypotheses.map((x) => x.service)).toEqual(['comm_hub', 'powermeter_ac', 'evse_manager_2']);
    expect(refined.hypotheses[0]!.confidence).toBe(0.62);
    // Local evidence stays local and unredacted; the first revision is kept.
    expect(refined.hypotheses[1]!.evidence.length).toBe(4);
    expect(refined.revisions?.map((r) => [r.revision, r.source])).toEqual([
      [1, 'rules'],
      [2, 'rules+llm'],
    ]);
    expect(refined.revisions?.[1]?.nextSteps).toContain('Check RS485 termination on /dev/ttymxc2');

    const req = llm.requests[0]!;
    expect(req.model).toBe('qwen2.5:7b-instruct');
    // A local model the capability rule does not know: JSON mode, the schema spelled out, no examples yet.
    expect(req.response_format).toEqual({ type: 'json_object' });
    expect(req.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(req.messages[0]!.content).toContain('matching this JSON Schema');
    expect(req.messages[0]!.content).toContain(
      '"enum":["evse_manager_2","bsp","powermeter_ac","mqtt_broker","comm_hub"]',
    );
    const prompt = req.messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('evse_manager_2 -> powermeter_ac -> comm_hub');
    expect(prompt).toContain('Modbus read_register timeout');
    expect(prompt).toContain('+    return last_value_valid;');
    expect(prompt).not.toContain(ID_TAG);
    expect(prompt).not.toContain(VIN);

    // The refinement reaches Slack as a reply in the first message's thread.
    await waitFor('thread reply', () => slack.messages.length === 2, 4000);
    expect(slack.topLevel()).toHaveLength(1);
    expect(slack.messages[1]!.thread_ts).toBe(slack.messages[0]!.ts);
    expect(JSON.stringify(slack.messages[1]!.blocks)).toContain('Check RS485 termination');
  });

  test('a malformed answer is rejected, logged and dead-lettered with its reason; the report keeps revision 1', async () => {
    const { h } = await setup(() => ({ content: '{"ranking": [ {"service": "comm_hub", ' }));
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead', channel: 'llm' }).length === 1);
    const dead = h.cm.repo.list({ status: 'dead', channel: 'llm' })[0]!;
    expect(dead.lastError).toContain('answer is not JSON');
    expect(h.reports.get(report.id)?.revision).toBe(1);
    expect(h.logger.lines.some((l) => l.includes('LLM answer rejected'))).toBe(true);
  });

  test('an answer naming a service that is not a candidate is rejected; the report keeps revision 1', async () => {
    const { h } = await setup(() => ({
      content: JSON.stringify({
        ranking: [{ service: 'ocpp', confidence: 0.9, reason: 'websocket reconnect loop' }],
        summary: 'OCPP',
        explanation: 'OCPP',
        nextSteps: [],
      }),
    }));
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead', channel: 'llm' }).length === 1);
    expect(h.cm.repo.list({ status: 'dead', channel: 'llm' })[0]!.lastError).toContain(
      'services that are not candidates: ocpp',
    );
    expect(h.reports.get(report.id)?.revision).toBe(1);
  });

  test('hourly budget spent: the next refinement waits in the outbox (not dead, not counted as a try)', async () => {
    const { llm, h } = await setup(() => ({ content: goodAnswer }), { TRACEPULSE_LLM_HOURLY_BUDGET: '1' });
    const a = sampleReport();
    const b = sampleReport();
    h.reports.create(a, sampleEvent());
    h.reports.create(b, sampleEvent());
    await waitFor('first refined', () => h.reports.get(a.id)?.revision === 2);
    await waitFor('second deferred', () =>
      (h.cm.repo.list({ channel: 'llm', status: 'pending' })[0]?.lastError ?? '').includes('budget'),
    );
    const row = h.cm.repo.list({ channel: 'llm', status: 'pending' })[0]!;
    expect(row.reportId).toBe(b.id);
    expect(row.attempts).toBe(0);
    expect(row.nextAttemptAt - Date.now()).toBeGreaterThan(3_500_000);
    expect(llm.requests).toHaveLength(1);
    expect(h.reports.get(b.id)?.revision).toBe(1);
  });

  test('503 then 429 with Retry-After are retried; the refinement is stored once', async () => {
    const { llm, h } = await setup((_req, n) =>
      n === 1
        ? { status: 503, error: 'model loading' }
        : n === 2
          ? { status: 429, error: 'slow down', headers: { 'retry-after': '1' } }
          : { content: goodAnswer },
    );
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('refined', () => h.reports.get(report.id)?.revision === 2, 5000);
    expect(llm.requests).toHaveLength(3);
    expect(h.reports.get(report.id)?.revisions).toHaveLength(2);
    const row = h.cm.repo.list({ channel: 'llm' })[0]!;
    expect(row.status).toBe('sent');
    expect(row.failures).toBe(1);
  });

  test('the prompt is trimmed to the token budget (~ chars / 4), diff hunks first', () => {
    const graph = testGraph();
    const report = sampleReport();
    const big = `diff --git a/x b/x\n${'@@ -1 +1 @@\n+'.padEnd(5000, 'x')}\n`.repeat(20);
    const text = buildUserPrompt({
      envelope: { kind: 'created', report },
      candidates: graph.candidates('evse_manager_2'),
      diffs: [{ label: '9f3c2a1', diff: big }],
      maxTokens: 600,
    });
    expect(text.length).toBeLessThanOrEqual(600 * 4);
    expect(text).toContain('evse_manager_2 -> powermeter_ac -> comm_hub');
    expect(text).toContain('#1 powermeter_ac');
  });
});

describe('LLM refinement: structured outputs by model', () => {
  test('a model with Structured Outputs (gpt-4o-mini) gets strict json_schema, the services an enum of the candidates', async () => {
    const { llm, h } = await setup(() => ({ content: goodAnswer }), { TRACEPULSE_LLM_MODEL: 'gpt-4o-mini' });
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(report.id)?.revision === 2);
    const req = llm.requests[0]!;
    expect(req.response_format?.type).toBe('json_schema');
    expect(req.response_format?.json_schema?.strict).toBe(true);
    expect(JSON.stringify(req.response_format?.json_schema?.schema)).toContain(
      '"enum":["evse_manager_2","bsp","powermeter_ac","mqtt_broker","comm_hub"]',
    );
    expect(req.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(h.cm.repo.list({ channel: 'llm' })[0]!.status).toBe('sent');
  });

  test('gpt-4-turbo gets JSON mode; its answer is checked with zod and one off the schema is dead-lettered', async () => {
    const { llm, h } = await setup(
      (_req, n) =>
        n === 1
          ? { content: goodAnswer }
          : {
              content: JSON.stringify({
                ...JSON.parse(goodAnswer),
                ranking: [{ service: 'comm_hub', confidence: 1.4, reason: 'x' }],
              }),
            },
      { TRACEPULSE_LLM_MODEL: 'gpt-4-turbo' },
      { noJsonSchema: ['gpt-4-turbo'] },
    );
    const a = sampleReport();
    h.reports.create(a, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(a.id)?.revision === 2);
    expect(h.reports.get(a.id)!.hypotheses[0]!.service).toBe('comm_hub');
    const b = sampleReport();
    h.reports.create(b, sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead', channel: 'llm' }).length === 1);
    expect(h.cm.repo.list({ status: 'dead', channel: 'llm' })[0]!.lastError).toContain(
      'does not match the schema: ranking.0.confidence',
    );
    expect(h.reports.get(b.id)?.revision).toBe(1);
    // Never a json_schema request for it: no 400 round trip.
    expect(llm.requests.map((r) => r.response_format?.type)).toEqual(['json_object', 'json_object']);
  });

  test('a model that rejects json_schema with HTTP 400 is asked again in JSON mode, and in JSON mode from then on', async () => {
    // An older gpt-4o deployment behind a proxy: the name says json_schema, the server says no.
    const { llm, h } = await setup(
      () => ({ content: goodAnswer }),
      { TRACEPULSE_LLM_MODEL: 'gpt-4o' },
      {
        noJsonSchema: ['gpt-4o'],
      },
    );
    const a = sampleReport();
    h.reports.create(a, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(a.id)?.revision === 2);
    const b = sampleReport();
    h.reports.create(b, sampleEvent());
    await waitFor('second revision 2', () => h.reports.get(b.id)?.revision === 2);
    expect(llm.requests.map((r) => r.response_format?.type)).toEqual([
      'json_schema',
      'json_object',
      'json_object',
    ]);
    const rows = h.cm.repo.list({ channel: 'llm' });
    expect(rows.map((r) => [r.status, r.failures])).toEqual([
      ['sent', 0],
      ['sent', 0],
    ]);
  });

  test('json_schema forced by the setting on a model that rejects it: dead-lettered with the 400, revision 1 kept', async () => {
    const { llm, h } = await setup(
      () => ({ content: goodAnswer }),
      { TRACEPULSE_LLM_MODEL: 'gpt-4-turbo', TRACEPULSE_LLM_STRUCTURED_OUTPUTS: 'json_schema' },
      { noJsonSchema: ['gpt-4-turbo'] },
    );
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead', channel: 'llm' }).length === 1);
    expect(h.cm.repo.list({ status: 'dead', channel: 'llm' })[0]!.lastError).toContain('LLM: HTTP 400');
    expect(llm.requests).toHaveLength(1);
    expect(h.reports.get(report.id)?.revision).toBe(1);
  });

  test('json_object forced by the setting on a model the rule knows: JSON mode', async () => {
    const { llm, h } = await setup(() => ({ content: goodAnswer }), {
      TRACEPULSE_LLM_MODEL: 'gpt-4.1-mini',
      TRACEPULSE_LLM_STRUCTURED_OUTPUTS: 'json_object',
    });
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(report.id)?.revision === 2);
    expect(llm.requests[0]!.response_format).toEqual({ type: 'json_object' });
  });
});

describe('LLM refinement: reasoning models (o-series, gpt-5)', () => {
  test('gpt-5-mini is sent no temperature (it takes only the default) and strict json_schema', async () => {
    const { llm, h } = await setup(
      () => ({ content: goodAnswer }),
      { TRACEPULSE_LLM_MODEL: 'gpt-5-mini' },
      {
        reasoning: ['gpt-5-mini'],
      },
    );
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(report.id)?.revision === 2);
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]!.temperature).toBeUndefined();
    expect(llm.requests[0]!.response_format?.type).toBe('json_schema');
  });

  test('a deployment name the rule does not know, refusing temperature with a 400 naming it, is asked again without, and from then on', async () => {
    const { llm, h } = await setup(
      () => ({ content: goodAnswer }),
      { TRACEPULSE_LLM_MODEL: 'site-reasoner' },
      {
        reasoning: ['site-reasoner'],
      },
    );
    const a = sampleReport();
    h.reports.create(a, sampleEvent());
    await waitFor('revision 2', () => h.reports.get(a.id)?.revision === 2);
    const b = sampleReport();
    h.reports.create(b, sampleEvent());
    await waitFor('second revision 2', () => h.reports.get(b.id)?.revision === 2);
    expect(llm.requests.map((r) => r.temperature)).toEqual([0.2, undefined, undefined]);
    // JSON mode throughout: the temperature 400 names its param, so it is not taken for a json_schema refusal.
    expect(llm.requests.map((r) => r.response_format?.type)).toEqual([
      'json_object',
      'json_object',
      'json_object',
    ]);
    expect(h.cm.repo.list({ channel: 'llm' }).every((r) => r.status === 'sent' && r.failures === 0)).toBe(
      true,
    );
  });

  test('a 400 naming another parameter is permanent (dead-lettered with it), not retried', async () => {
    const { llm, h } = await setup(
      () => ({
        status: 400,
        error: "Invalid 'messages[1].content': string too long.",
        param: 'messages[1].content',
      }),
      {
        TRACEPULSE_LLM_MODEL: 'gpt-4o-mini',
      },
    );
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('dead', () => h.cm.repo.list({ status: 'dead', channel: 'llm' }).length === 1);
    expect(llm.requests).toHaveLength(1);
    expect(h.reports.get(report.id)?.revision).toBe(1);
  });
});

/** Stores an engineer's verdict on a report, as the feedback intake does. */
function labelIn(db: Parameters<typeof createFeedbackStore>[0]) {
  const feedback = createFeedbackStore(db);
  return (
    r: ReturnType<typeof sampleReport>,
    verdict: 'confirmed' | 'rejected',
    root: string,
    note: string,
  ) =>
    feedback.add({
      reportId: r.id,
      eventId: r.eventId,
      eventType: r.eventType,
      errorCode: r.errorCode,
      verdict,
      rootService: root,
      changeId: null,
      note,
      ranked: [],
      modelVersion: 'rules-1',
      author: 'erin',
      createdAt: Date.UTC(2026, 10, 20),
    });
}

describe('LLM refinement: few-shot examples from the station', () => {
  test('TRACEPULSE_LLM_EXAMPLES=0 sends none; a small prompt budget clips each example to its share', async () => {
    for (const [env, expectExamples] of [
      [{ TRACEPULSE_LLM_EXAMPLES: '0' }, 0],
      [{ TRACEPULSE_LLM_EXAMPLES: '2', TRACEPULSE_LLM_PROMPT_TOKENS: '600' }, 1],
    ] as const) {
      const { llm, h } = await setup(() => ({ content: goodAnswer }), {
        TRACEPULSE_LLM_MODEL: 'gpt-4o-mini',
        ...env,
      });
      const labelled = sampleReport();
      h.reports.create(labelled, sampleEvent());
      await waitFor('refined', () => h.reports.get(labelled.id)?.revision === 2);
      labelIn(h.db)(labelled, 'confirmed', 'powermeter_ac', 'x'.repeat(3000));
      const target = sampleReport();
      h.reports.create(target, sampleEvent());
      await waitFor('second request', () => llm.requests.length === 2);
      const req = llm.requests[1]!;
      expect(req.messages.length).toBe(2 + 2 * expectExamples);
      if (expectExamples) {
        // 600 tokens * 4 chars / 3 for examples / 2 examples = 400 characters for the example's report.
        expect(req.messages[1]!.content.length).toBeLessThanOrEqual(400);
        expect(req.messages[1]!.content).toContain('Failure: CHARGING_FAULT');
        const answer = JSON.parse(req.messages[2]!.content);
        expect(answer.explanation.length).toBe(300);
      }
    }
  });

  test("the station's corrected and confirmed reports come first as user/assistant pairs, redacted, closest first", async () => {
    const { llm, h } = await setup(() => ({ content: goodAnswer }), { TRACEPULSE_LLM_MODEL: 'gpt-4o-mini' });
    const label = labelIn(h.db);
    const other = sampleReport({ errorCode: 'CableCheckFault', summary: 'isolation monitor tripped' });
    const corrected = sampleReport();
    const confirmed = sampleReport();
    h.reports.create(other, sampleEvent());
    h.reports.create(corrected, sampleEvent());
    h.reports.create(confirmed, sampleEvent());
    // They were refined too: the examples must show what the rules saw (revision 1), not the LLM's revision.
    await waitFor('three refined', () =>
      [other, corrected, confirmed].every((r) => h.reports.get(r.id)?.revision === 2),
    );
    label(other, 'confirmed', 'powermeter_ac', 'IMD self-test failed');
    label(corrected, 'rejected', 'comm_hub', 'RS485 termination resistor missing after the cabinet swap');
    label(confirmed, 'confirmed', 'powermeter_ac', `meter swapped; idTag ${ID_TAG} was charging`);

    const target = sampleReport();
    h.reports.create(target, sampleEvent());
    await waitFor('fourth request', () => llm.requests.length === 4);
    await waitFor('target refined', () => h.reports.get(target.id)?.revision === 2);
    const req = llm.requests[3]!;
    expect(req.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    // Same error code first (newest first among equals), the other error code last.
    const answers = [2, 4, 6].map((i) => JSON.parse(req.messages[i]!.content));
    expect(answers.map((a) => a.ranking[0].service)).toEqual(['powermeter_ac', 'comm_hub', 'powermeter_ac']);
    expect(answers[1].ranking[0].reason).toContain(
      'Corrected by an engineer (the rules ranked powermeter_ac first)',
    );
    expect(answers[1].ranking[0].confidence).toBe(0.19);
    expect(req.messages[3]!.content).toContain('Failure: CHARGING_FAULT MREC4OverCurrentFailure');
    expect(req.messages[5]!.content).toContain('CableCheckFault');
    const all = req.messages.map((m) => m.content).join('\n');
    expect(all).not.toContain(ID_TAG);
    expect(all).not.toContain(VIN);
    expect(all).toContain('idTag [redacted]');
    // The report being refined is never its own example.
    expect(req.messages.at(-1)!.content).toContain('Ranked hypotheses:');
  });
});
