import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createManualClock } from '../../src/core/clock.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';
import { report as fixtureReport } from './fixtures.ts';
import { addUser, csrfOf, form, get, login, storeReport } from './helpers.ts';

/** A local server speaking OpenAI's chat-completions protocol; `hang` makes it miss the time-out. */
// The answer's time-out is on the app's scheduler, a manual clock: under load a real 400 ms
// could pass before a prompt that is answered at once; here only the test moves it.
const timers = createManualClock();
const ANSWER_TIMEOUT_MS = 60_000;
let llm: ReturnType<typeof Bun.serve>;
let hang = false;
const prompts: string[] = [];
let app: TestApp;
let cookie: string;

beforeAll(async () => {
  llm = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = (await req.json()) as { messages: Array<{ role: string; content: string }> };
      prompts.push(body.messages.map((m) => m.content).join('\n'));
      if (hang) await Bun.sleep(5_000);
      return Response.json({
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: 'local',
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: { role: 'assistant', content: 'Check the BSP firmware first [1].' },
          },
        ],
      });
    },
  });
  app = await startTestApp(
    {
      OPENAI_BASE_URL: `http://127.0.0.1:${llm.port}/v1`,
      TRACEPULSE_LLM_MODEL: 'local',
      TRACEPULSE_ANSWER_TIMEOUT_MS: String(ANSWER_TIMEOUT_MS),
      TRACEPULSE_LEARN: 'off',
    },
    { scheduler: timers },
  );
  await addUser(app, 'erin', 'engineer');
  cookie = await login(app, 'erin');
});
afterAll(async () => {
  await app.close();
  llm.stop(true);
});

async function ask(question: string, whileAsked: () => Promise<void> = async () => {}) {
  // The driver's RFID token is in the event and quoted by a rule's reason: it must not reach the LLM.
  const hypotheses = structuredClone(fixtureReport.hypotheses);
  hypotheses[0]!.reasons.push('Auth accepted token 04A2B3C4D5 just before the drop');
  const rep = await storeReport(app, { hypotheses }, { details: { connector: '1', idTag: '04A2B3C4D5' } });
  const csrf = csrfOf(await (await get(app, `/chat/r/${rep.id}`, cookie)).text());
  const asked = form(app, `/chat/r/${rep.id}/ask`, { _csrf: csrf, question }, cookie);
  await whileAsked();
  const r = await asked;
  expect(r.status).toBe(303);
  return app.ctx.db
    .query<{ text: string; answered_by: string; citations: string }, [string]>(
      "SELECT text, answered_by, citations FROM chat_messages WHERE report_id = ? AND kind = 'answer'",
    )
    .get(rep.id)!;
}

describe('answers with an LLM configured', () => {
  test('the LLM answers with the report as context, private values redacted, citations kept', async () => {
    const a = await ask('what changed in bsp?');
    expect(a.answered_by).toBe('llm');
    expect(a.text).toBe('Check the BSP firmware first [1].');
    expect(JSON.parse(a.citations).length).toBeGreaterThan(0);
    const prompt = prompts.at(-1)!;
    expect(prompt).toContain('Question: what changed in bsp?');
    expect(prompt).toContain('"service":"bsp"');
    expect(prompt).toContain('Auth accepted token [redacted] just before the drop');
    expect(prompt).not.toContain('04A2B3C4D5');
  });

  test('a slow LLM falls back to the local answer within the time-out', async () => {
    hang = true;
    const t0 = performance.now();
    const question = 'what depends on comm_hub?';
    const a = await ask(question, async () => {
      // The question's prompt, not the report's refinement (connected mode uses the same LLM).
      await waitFor(
        () => prompts.some((p) => p.includes(`Question: ${question}`)),
        5000,
        'the prompt at the LLM',
      );
      timers.advance(ANSWER_TIMEOUT_MS);
    });
    hang = false;
    // Well before the LLM's 5 s: the time-out, not the answer, ended the wait.
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(a.answered_by).toBe('local');
    expect(a.text).toMatch(/depend on comm_hub directly/);
  });
});
