import { builtInPack } from './pack-data.ts' with { type: 'macro' };
import { compileRule, mergeRules, type Rule, type RuleSet } from './schema.ts';

/**
 * Version of the structural signals and their weights (src/analyze/rules/*.ts). Bump it whenever a
 * weight or a signal changes, so reports name the model that ranked them.
 */
export const ENGINE_VERSION = 'engine-16';

// Parsed and validated at build time (pack-data.ts is a macro); only the regexes are compiled here.
const pack = builtInPack();
const text: string = pack.text;

/** The built-in EV rules. */
export const builtInRules: readonly Rule[] = pack.specs.map((spec) =>
  compileRule(spec, 'built-in EV rule pack'),
);

/** The rule set in force: built-in pack plus an optional user file (already validated). */
export function ruleSet(user?: { rules: Rule[]; text: string }): RuleSet {
  return mergeRules([...builtInRules], user?.rules ?? [], [ENGINE_VERSION, text, user?.text ?? '']);
}
