// A local server speaking OpenAI's chat completions wire protocol (POST /v1/chat/completions,
// a chat.completion JSON answer, error bodies with status codes and Retry-After).
export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  response_format?: {
    type: string;
    json_schema?: { name: string; strict?: boolean; schema: Record<string, unknown> };
  };
}

export type FakeAnswer =
  | { content: string; delayMs?: number; totalTokens?: number }
  | { status: number; error: string; headers?: Record<string, string> };

export interface FakeOpenAIOptions {
  /** Models that answer a json_schema request as OpenAI does for gpt-4-turbo and gpt-4: HTTP 400. */
  noJsonSchema?: string[];
}

const badRequest = (message: string, param: string | null) =>
  Response.json({ error: { message, type: 'invalid_request_error', param, code: null } }, { status: 400 });

export async function startFakeOpenAI(
  answer: (req: ChatRequest, n: number) => FakeAnswer,
  options: FakeOpenAIOptions = {},
) {
  const requests: ChatRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions')
        return Response.json(
          { error: { message: 'not found', type: 'invalid_request_error' } },
          { status: 404 },
        );
      const body = (await req.json()) as ChatRequest;
      requests.push(body);
      // What api.openai.com answers (bodies as seen from it, param and code null included).
      if (body.response_format?.type === 'json_schema' && options.noJsonSchema?.includes(body.model))
        return badRequest(
          "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. Learn more about supported models at the Structured Outputs guide: https://platform.openai.com/docs/guides/structured-outputs",
          null,
        );
      if (body.response_format?.type === 'json_object' && !body.messages.some((m) => /json/i.test(m.content)))
        return badRequest(
          "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
          'messages',
        );
      const a = answer(body, requests.length);
      if ('status' in a)
        return Response.json(
          { error: { message: a.error, type: 'server_error', code: null, param: null } },
          { status: a.status, headers: a.headers },
        );
      if (a.delayMs) await Bun.sleep(a.delayMs);
      const total = a.totalTokens ?? 420;
      return Response.json({
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: a.content, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: total - 60, completion_tokens: 60, total_tokens: total },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    requests,
    stop: () => server.stop(true),
  };
}
