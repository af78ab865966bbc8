import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { report as fixtureReport } from './fixtures.ts';
import { addUser, csrfOf, form, get, login, storeReport } from './helpers.ts';

/** A local server speaking OpenAI's chat-completions protocol; `hang` makes it miss the time-out. */
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
      if (hang) await Bun.sleep(6000);
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
  app = await startTestApp({
    OPENAI_BASE_URL: `http://127.0.0.1:${llm.port}/v1`,
    TRACEPULSE_LLM_MODEL: 'local',
    TRACEPULSE_ANSWER_TIMEOUT_MS: '2000', // room for a loaded CI machine; the hanging LLM takes 6 s
    TRACEPULSE_LEARN: 'off',
  });
  await addUser(app, 'erin', 'engineer');
  cookie = await login(app, 'erin');
});
afterAll(async () => {
  await app.close();
  llm.stop(true);
});

async function ask(question: string) {
  // The driver's RFID token is in the event and quoted by a rule's reason: it must not reach the LLM.
  const hypotheses = structuredClone(fixtureReport.hypotheses);
  hypotheses[0]!.reasons.push('Auth accepted token 04A2B3C4D5 just before the drop');
  const rep = await storeReport(app, { hypotheses }, { details: { connector: '1', idTag: '04A2B3C4D5' } });
  const csrf = csrfOf(await (await get(app, `/chat/r/${rep.id}`, cookie)).text());
  const r = await form(app, `/chat/r/${rep.id}/ask`, { _csrf: csrf, question }, cookie);
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
    const a = await ask('what depends on comm_hub?');
    hang = false;
    expect(performance.now() - t0).toBeLessThan(5000); // the time-out (2 s), well before the LLM's 6 s
    expect(a.answered_by).toBe('local');
    expect(a.text).toMatch(/depend on comm_hub directly/);
  });
});
