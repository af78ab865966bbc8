/**
 * The port to an OpenAI-compatible chat model (chat answers in ui/, report refinement in deliver/).
 * The one implementation is src/llm/openai-adapter.ts; app.ts builds it and hands it to both.
 */

/** How an answer that must be JSON is asked for. */
export type StructuredMode = 'json_schema' | 'json_object';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
  /** This call's time-out; default the adapter's. */
  timeoutMs?: number;
}

export interface Completion {
  content: string | null;
  /** Total tokens as the server reported them (0 when it did not). */
  tokens: number;
}

/** A failed call, with what the caller needs to decide retry or fallback (not the SDK's classes). */
export class LlmCallError extends Error {
  override readonly name = 'LlmCallError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly kind: 'aborted' | 'connection' | 'http' | 'other',
    readonly retryAfter: string | null,
    /** The request parameter the server named in its error body (e.g. "temperature"). */
    readonly param: string | null,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

export interface LlmAdapter {
  readonly model: string;
  /** The mode the next structured call starts with (json_schema is dropped for good after a 400). */
  structuredMode(): StructuredMode;
  /** A plain text completion. */
  text(messages: ChatMessage[], options?: CallOptions): Promise<Completion>;
  /**
   * A JSON answer: strict json_schema where the model supports it, otherwise JSON mode with the
   * schema spelled out in a system message. A 400 to a json_schema request (OpenAI answers
   * "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model"
   * with param and code null, so the status is all there is to go on) is retried once in JSON
   * mode. The caller checks the content (zod) in both modes.
   */
  json(
    messages: ChatMessage[],
    schema: { name: string; schema: Record<string, unknown> },
    options?: CallOptions,
  ): Promise<Completion & { mode: StructuredMode }>;
}
