import packText from './ev-pack.yaml' with { type: 'text' };
import { parseRules, type RuleSpec } from './schema.ts';

/**
 * The built-in pack, validated. Imported as a Bun macro by pack.ts, so it runs when the bundle is
 * built (and when the runtime transpiles pack.ts): the executable carries the validated specs and
 * does not parse YAML or run zod for them at start-up. A broken pack fails the build.
 */
export function builtInPack(): { text: string; specs: RuleSpec[] } {
  const parsed = parseRules(packText, 'built-in EV rule pack');
  if (!parsed.ok) throw new Error(`built-in rule pack is invalid:\n${parsed.problems.join('\n')}`);
  return { text: packText, specs: parsed.rules.map((r) => r.spec) };
}
