// A local server speaking OpenAI's chat completions wire protocol (POST /v1/chat/completions,
// a chat.completion JSON answer, error bodies with status codes and Retry-After).
export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  response_format?: {
    type: string;
    json_schema?: { name: string; strict?: boolean; schema: Record<string, unknown> };
  };
}

export type FakeAnswer =
  | { content: string; delayMs?: number; totalTokens?: number }
  | { status: number; error: string; headers?: Record<string, string>; param?: string };

export interface FakeOpenAIOptions {
  /** Models that answer a json_schema request as OpenAI does for gpt-4-turbo and gpt-4: HTTP 400. */
  noJsonSchema?: string[];
  /** Models that behave as OpenAI's reasoning models: HTTP 400 for max_tokens and for a temperature but 1. */
  reasoning?: string[];
}

const badRequest = (message: string, param: string | null, code: string | null = null) =>
  Response.json({ error: { message, type: 'invalid_request_error', param, code } }, { status: 400 });

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
      if (options.reasoning?.includes(body.model) && body.max_tokens !== undefined)
        return badRequest(
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
          'max_tokens',
          'unsupported_parameter',
        );
      if (options.reasoning?.includes(body.model) && body.temperature !== undefined && body.temperature !== 1)
        return badRequest(
          `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`,
          'temperature',
          'unsupported_value',
        );
      if (body.response_format?.type === 'json_object' && !body.messages.some((m) => /json/i.test(m.content)))
        return badRequest(
          "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
          'messages',
        );
      const a = answer(body, requests.length);
      if ('status' in a)
        return Response.json(
          {
            error: {
              message: a.error,
              type: a.status === 400 ? 'invalid_request_error' : 'server_error',
              code: null,
              param: a.param ?? null,
            },
          },
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
