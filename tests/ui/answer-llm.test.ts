import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createManualClock } from '../../src/core/clock.ts';
import { answerLocally } from '../../src/ui/answer/answer-question.ts';
import { createLlmAdapter } from '../../src/llm/openai-adapter.ts';
import { createLlmAnswerer } from '../../src/ui/answer/llm-answer.ts';
import { waitFor } from '../helpers/test-app.ts';
import { facts } from './fixtures.ts';

/** A local server speaking OpenAI's chat-completions wire protocol; behaviour per model name. */
let server: ReturnType<typeof Bun.serve>;
const seen: Array<{
  model: string;
  messages: Array<{ role: string; content: string }>;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  auth: string | null;
}> = [];

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = (await req.json()) as {
        model: string;
        messages: Array<{ role: string; content: string }>;
        max_tokens?: number;
        max_completion_tokens?: number;
        temperature?: number;
      };
      seen.push({ ...body, auth: req.headers.get('authorization') });
      // OpenAI's reasoning models refuse the classic sampling fields.
      if (body.model.startsWith('o3') && (body.max_tokens !== undefined || body.temperature !== undefined))
        return Response.json(
          {
            error: {
              message:
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
              type: 'invalid_request_error',
              param: body.max_tokens !== undefined ? 'max_tokens' : 'temperature',
              code: 'unsupported_parameter',
            },
          },
          { status: 400 },
        );
      if (body.model === 'slow') await Bun.sleep(3000);
      if (body.model === 'broken')
        return Response.json({ error: { message: 'overloaded' } }, { status: 500 });
      return Response.json({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: body.model,
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: { role: 'assistant', content: 'The BSP debounce commit changed CP state handling [1].' },
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      });
    },
  });
});
afterAll(() => server.stop(true));

const settings = (model: string, timeoutMs = 2000) => ({
  baseURL: `http://127.0.0.1:${server.port}/v1`,
  apiKey: 'sk-test',
  model,
  timeoutMs,
});
const answerer = (s: ReturnType<typeof settings>, onFallback?: (reason: string) => void) =>
  createLlmAnswerer(createLlmAdapter(s), { timeoutMs: s.timeoutMs }, onFallback);

describe('answers with an LLM (connected)', () => {
  test('sends the report, the evidence and the local answer, and keeps the citations', async () => {
    const f = facts();
    const local = answerLocally('what changed in bsp?', f);
    const a = await answerer(settings('gpt-test'))('what changed in bsp?', f, local);
    expect(a.answeredBy).toBe('llm');
    expect(a.text).toContain('BSP debounce commit');
    expect(a.citations[0]).toEqual(local.citations[0]!);
    const req = seen.at(-1)!;
    expect(req.auth).toBe('Bearer sk-test');
    const user = req.messages.find((m) => m.role === 'user')!.content;
    expect(user).toContain('Question: what changed in bsp?');
    expect(user).toContain('[1] (change)');
    expect(user).toContain('"service":"bsp"');
  });

  test('a reasoning model (o3-mini) gets max_completion_tokens with room to reason and no temperature', async () => {
    const f = facts();
    const local = answerLocally('what changed in bsp?', f);
    const before = seen.length;
    const a = await answerer(settings('o3-mini'))('what changed in bsp?', f, local);
    expect(a.answeredBy).toBe('llm');
    expect(seen.length - before).toBe(1);
    const req = seen.at(-1)!;
    expect(req.max_tokens).toBeUndefined();
    expect(req.temperature).toBeUndefined();
    expect(req.max_completion_tokens).toBe(4500);
  });

  test('classic models get max_tokens and the temperature', async () => {
    const f = facts();
    await answerer(settings('gpt-4-turbo'))(
      'what changed in bsp?',
      f,
      answerLocally('what changed in bsp?', f),
    );
    expect(seen.at(-1)!.max_tokens).toBe(500);
    expect(seen.at(-1)!.temperature).toBe(0.1);
  });

  test('falls back to the local answer within the time-out', async () => {
    const f = facts();
    const local = answerLocally('logs of bsp', f);
    const reasons: string[] = [];
    // The answer's time-out on a manual clock (the SDK's own is far off): moved once the request is out.
    const clock = createManualClock();
    const s = settings('slow', 60_000);
    const ask = createLlmAnswerer(createLlmAdapter(s), { timeoutMs: 300, scheduler: clock }, (r) =>
      reasons.push(r),
    );
    const t0 = performance.now();
    const sent = seen.length;
    const asked = ask('logs of bsp', f, local);
    await waitFor(() => seen.slice(sent).some((b) => b.model === 'slow'), 2000, 'the request at the LLM');
    clock.advance(299);
    await Bun.sleep(0);
    expect(reasons).toEqual([]);
    clock.advance(1);
    const a = await asked;
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(a).toBe(local);
    expect(reasons).toEqual(['timeout']);
  });

  test('falls back to the local answer when the API fails', async () => {
    const f = facts();
    const local = answerLocally('logs of bsp', f);
    const reasons: string[] = [];
    const a = await answerer(settings('broken'), (r) => reasons.push(r))('logs of bsp', f, local);
    expect(a.answeredBy).toBe('local');
    expect(reasons.length).toBe(1);
  });

  test('falls back when nothing listens at the base URL', async () => {
    const f = facts();
    const local = answerLocally('logs of bsp', f);
    const a = await answerer({ ...settings('x'), baseURL: 'http://127.0.0.1:9/v1' })('logs of bsp', f, local);
    expect(a).toBe(local);
  });
});
