import { describe, expect, test } from 'bun:test';
import { samplingFor, structuredModeFor, supportsJsonSchema } from '../../src/llm/model-capabilities.ts';

describe('structured outputs capability rule (by model name)', () => {
  test('models with Structured Outputs on Chat Completions', () => {
    for (const m of [
      'gpt-4o-mini',
      'gpt-4o-mini-2024-07-18',
      'gpt-4o',
      'gpt-4o-2024-08-06',
      'gpt-4o-2024-11-20',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-5',
      'gpt-5-mini',
      'o1',
      'o1-2024-12-17',
      'o3-mini',
      'o4-mini',
      'openai/gpt-4o-mini',
    ])
      expect([m, supportsJsonSchema(m)]).toEqual([m, true]);
  });

  test('older models and unknown local ones get JSON mode', () => {
    for (const m of [
      'gpt-4-turbo',
      'gpt-4-turbo-2024-04-09',
      'gpt-4',
      'gpt-3.5-turbo',
      'gpt-4o-2024-05-13',
      'o1-preview',
      'o1-mini',
      'qwen2.5:7b-instruct',
      'llama3.1:8b',
      'mistral-7b-instruct-v0.3.Q4_K_M.gguf',
    ])
      expect([m, supportsJsonSchema(m)]).toEqual([m, false]);
  });

  test('the setting overrides the rule', () => {
    expect(structuredModeFor('gpt-4-turbo')).toBe('json_object');
    expect(structuredModeFor('gpt-4o-mini')).toBe('json_schema');
    expect(structuredModeFor('qwen2.5:7b-instruct', 'json_schema')).toBe('json_schema');
    expect(structuredModeFor('gpt-4o-mini', 'json_object')).toBe('json_object');
  });

  test('reasoning models take max_completion_tokens and only the default temperature', () => {
    for (const m of ['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5.1'])
      expect([m, samplingFor(m)]).toEqual([m, { temperature: false, tokens: 'max_completion_tokens' }]);
    for (const m of ['gpt-4-turbo', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5-chat-latest', 'qwen2.5:7b-instruct'])
      expect([m, samplingFor(m)]).toEqual([m, { temperature: true, tokens: 'max_tokens' }]);
  });
});
