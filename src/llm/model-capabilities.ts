import type { StructuredMode } from '../core/llm.ts';

/** The setting: `auto` applies the rule below; the other two force a mode for every model. */
export type StructuredSetting = 'auto' | StructuredMode;

/**
 * Models that accept `response_format: {type: "json_schema", strict: true}` on Chat Completions,
 * per OpenAI's Structured Outputs guide (https://platform.openai.com/docs/guides/structured-outputs):
 * gpt-4o-mini and gpt-4o from 2024-07-18 / 2024-08-06 on, gpt-4.1, gpt-4.5, gpt-5 and the o-series
 * from o1-2024-12-17 and o3-mini on. Everything else (gpt-4-turbo, gpt-4, gpt-3.5-turbo,
 * gpt-4o-2024-05-13, o1-preview, o1-mini, and names we do not know, such as a local Ollama or
 * llama.cpp model) gets JSON mode, which every OpenAI-compatible server accepts, and the answer is
 * checked with zod. A provider prefix ("openai/gpt-4o") is ignored.
 */
const jsonSchemaModels: RegExp[] = [
  /^gpt-4o-mini(-\d{4}-\d{2}-\d{2})?$/,
  /^gpt-4o$/,
  /^gpt-4o-(2024-(0[89]|1\d)|202[5-9])-\d{2}(-\d{2})?$/,
  /^gpt-4\.[15](-|$)/,
  /^gpt-5(\.\d+)?(-|$)/,
  /^o1$/,
  /^o1-(2024-12|202[5-9])/,
  /^o1-pro(-|$)/,
  /^o[34](-|$)/,
];

const baseName = (model: string) => model.trim().toLowerCase().split('/').at(-1) ?? '';

/** Whether a model name is known to support strict json_schema structured outputs. */
export function supportsJsonSchema(model: string): boolean {
  const name = baseName(model);
  return jsonSchemaModels.some((re) => re.test(name));
}

/** The mode to start with for a model; the setting overrides the rule. */
export function structuredModeFor(model: string, setting: StructuredSetting = 'auto'): StructuredMode {
  if (setting !== 'auto') return setting;
  return supportsJsonSchema(model) ? 'json_schema' : 'json_object';
}

/** The sampling parameters a model takes on Chat Completions. */
export interface Sampling {
  /** false: only the default temperature (the server refuses any other value). */
  temperature: boolean;
  tokens: 'max_tokens' | 'max_completion_tokens';
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, the gpt-5 family) refuse `max_tokens` ("Use
 * 'max_completion_tokens' instead", param max_tokens) and any temperature but the default
 * (param temperature). Local servers and older models get the classic fields. A model this rule
 * misjudges is corrected by the adapter after the server's first 400 naming the parameter.
 */
export function samplingFor(model: string): Sampling {
  const name = baseName(model);
  const reasoning = /^o\d/.test(name) || (/^gpt-5/.test(name) && !/^gpt-5(\.\d+)?-chat/.test(name));
  return reasoning
    ? { temperature: false, tokens: 'max_completion_tokens' }
    : { temperature: true, tokens: 'max_tokens' };
}
