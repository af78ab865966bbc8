import type { Config } from '../config/config.ts';
import type { LlmAdapter } from '../core/llm.ts';
import { createLlmAdapter } from '../llm/openai-adapter.ts';

/** The adapter the OPENAI_* and TRACEPULSE_LLM_* settings describe; null when neither a key nor a base URL is set. */
export function llmAdapterFromConfig(c: Config): LlmAdapter | null {
  if (!c.OPENAI_API_KEY && !c.OPENAI_BASE_URL) return null;
  return createLlmAdapter({
    apiKey: c.OPENAI_API_KEY,
    baseURL: c.OPENAI_BASE_URL,
    model: c.TRACEPULSE_LLM_MODEL,
    timeoutMs: c.TRACEPULSE_LLM_TIMEOUT_MS,
    structuredOutputs: c.TRACEPULSE_LLM_STRUCTURED_OUTPUTS,
  });
}
