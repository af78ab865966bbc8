import { afterEach, describe, expect, test } from 'bun:test';
import type { Change } from '../../src/core/change.ts';
import type { ChangeSource } from '../../src/core/ports.ts';
import { buildUserPrompt } from '../../src/deliver/llm-prompt.ts';
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

async function setup(answer: Parameters<typeof startFakeOpenAI>[0], env: Record<string, string> = {}) {
  const llm = await startFakeOpenAI(answer);
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
    expect(req.messages.map((m) => m.role)).toEqual(['system', 'user', 'system']);
    expect(req.messages[2]!.content).toContain(
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
