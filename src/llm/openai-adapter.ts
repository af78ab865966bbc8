import {
  type ChatMessage,
  type CallOptions,
  type Completion,
  type LlmAdapter,
  LlmCallError,
} from '../core/llm.ts';
import type { StructuredSetting } from './model-capabilities.ts';
import { samplingFor, structuredModeFor } from './model-capabilities.ts';

/** Extra completion tokens for a reasoning model's hidden reasoning (they count against max_completion_tokens). */
const reasoningAllowance = 4000;

/** How to reach an OpenAI-compatible Chat Completions server (OpenAI, Azure-style proxies, Ollama, llama.cpp, vLLM). */
export interface LlmSettings {
  /** e.g. http://127.0.0.1:11434/v1 for Ollama; default the SDK's (api.openai.com). */
  baseURL?: string | null;
  /** Local servers need none. */
  apiKey?: string | null;
  model: string;
  /** Default time-out of one call. */
  timeoutMs: number;
  /** `auto`: the model-name rule in model-capabilities.ts. */
  structuredOutputs?: StructuredSetting;
}

type Sdk = typeof import('openai');

/** The one OpenAI adapter (chat answers and report refinement). The SDK is imported on first use. */
export function createLlmAdapter(settings: LlmSettings): LlmAdapter {
  let sdk: Promise<{ mod: Sdk; client: import('openai').OpenAI }> | null = null;
  const load = () => {
    if (sdk) return sdk;
    sdk = import('openai').then((mod) => ({
      mod,
      client: new mod.OpenAI({
        // Local servers (Ollama, llama.cpp, vLLM) take any key; the SDK insists on one.
        apiKey: settings.apiKey ?? 'none',
        baseURL: settings.baseURL ?? undefined,
        timeout: settings.timeoutMs,
        maxRetries: 0,
      }),
    }));
    // A failed import is not kept: the next call tries again.
    sdk.catch(() => {
      sdk = null;
    });
    return sdk;
  };
  let mode = structuredModeFor(settings.model, settings.structuredOutputs);

  // What this model takes; started from the name rule, corrected by the server's 400s (by param).
  const sampling = samplingFor(settings.model);
  const adjust = (e: LlmCallError): boolean => {
    if (e.status !== 400) return false;
    if (e.param === 'temperature' && sampling.temperature) sampling.temperature = false;
    else if (e.param === 'max_tokens' && sampling.tokens === 'max_tokens')
      sampling.tokens = 'max_completion_tokens';
    else return false;
    return true;
  };

  const call = async (
    messages: ChatMessage[],
    options: CallOptions,
    responseFormat?: Record<string, unknown>,
  ): Promise<Completion> => {
    const { mod, client } = await load();
    // At most one retry per parameter the server refuses (temperature, max_tokens).
    for (let attempt = 0; ; attempt++) {
      const body = {
        model: settings.model,
        messages,
        ...(options.temperature !== undefined && sampling.temperature
          ? { temperature: options.temperature }
          : {}),
        ...(options.maxTokens === undefined
          ? {}
          : sampling.tokens === 'max_tokens'
            ? { max_tokens: options.maxTokens }
            : // Reasoning models spend hidden reasoning tokens from the same allowance.
              { max_completion_tokens: options.maxTokens + reasoningAllowance }),
        ...(responseFormat ? { response_format: responseFormat } : {}),
      } as import('openai').OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
      try {
        const r = await client.chat.completions.create(body, {
          signal: options.signal,
          timeout: options.timeoutMs ?? settings.timeoutMs,
        });
        return { content: r.choices[0]?.message?.content ?? null, tokens: r.usage?.total_tokens ?? 0 };
      } catch (err) {
        const e = normalize(mod, err);
        if (attempt < 2 && adjust(e)) continue;
        throw e;
      }
    }
  };

  return {
    model: settings.model,
    structuredMode: () => mode,
    text: (messages, options = {}) => call(messages, options),
    async json(messages, schema, options = {}) {
      if (mode === 'json_schema') {
        try {
          const r = await call(messages, options, {
            type: 'json_schema',
            json_schema: { name: schema.name, strict: true, schema: schema.schema },
          });
          return { ...r, mode: 'json_schema' as const };
        } catch (err) {
          // OpenAI's refusal of json_schema names no param (or response_format); other 400s stand.
          if (
            !(err instanceof LlmCallError) ||
            err.status !== 400 ||
            (err.param !== null && err.param !== 'response_format') ||
            settings.structuredOutputs === 'json_schema'
          )
            throw err;
          mode = 'json_object';
        }
      }
      // JSON mode constrains the syntax only (and OpenAI requires the word "JSON" in the messages).
      // The schema joins the first system message: some local chat templates refuse a system
      // message anywhere but first.
      const spelled = `Answer with one JSON object, no other text, matching this JSON Schema: ${JSON.stringify(schema.schema)}`;
      const first = messages[0];
      const withSchema: ChatMessage[] =
        first?.role === 'system'
          ? [{ role: 'system', content: `${first.content}\n\n${spelled}` }, ...messages.slice(1)]
          : [{ role: 'system', content: spelled }, ...messages];
      const r = await call(withSchema, options, { type: 'json_object' });
      return { ...r, mode: 'json_object' as const };
    },
  };
}

function normalize(mod: Sdk, err: unknown): LlmCallError {
  if (err instanceof mod.APIUserAbortError)
    return new LlmCallError('LLM: aborted', null, 'aborted', null, null, { cause: err });
  if (err instanceof mod.APIConnectionError)
    return new LlmCallError(`LLM: ${err.message}`, null, 'connection', null, null, { cause: err });
  if (err instanceof mod.APIError && typeof err.status === 'number')
    return new LlmCallError(
      `LLM: HTTP ${err.status}${err.code ? ` ${err.code}` : ''}${err.param ? ` (${err.param})` : ''}`,
      err.status,
      'http',
      err.headers?.get('retry-after') ?? null,
      typeof err.param === 'string' ? err.param : null,
      { cause: err },
    );
  return new LlmCallError(`LLM: ${String(err)}`, null, 'other', null, null, { cause: err });
}
