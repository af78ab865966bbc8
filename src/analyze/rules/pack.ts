import packText from './ev-pack.yaml' with { type: 'text' };
import { mergeRules, parseRules, type Rule, type RuleSet } from './schema.ts';

/**
 * Version of the structural signals and their weights (src/analyze/rules/*.ts). Bump it whenever a
 * weight or a signal changes, so reports name the model that ranked them.
 */
export const ENGINE_VERSION = 'engine-1';

const text: string = packText;
const parsed = parseRules(text, 'built-in EV rule pack');
// The pack ships inside the binary; a broken pack is a build bug, caught by the tests.
if (!parsed.ok) throw new Error(`built-in rule pack is invalid:\n${parsed.problems.join('\n')}`);

/** The built-in EV rules. */
export const builtInRules: readonly Rule[] = parsed.rules;
export const builtInPackText = text;

/** The rule set in force: built-in pack plus an optional user file (already validated). */
export function ruleSet(user?: { rules: Rule[]; text: string }): RuleSet {
  return mergeRules([...builtInRules], user?.rules ?? [], [ENGINE_VERSION, text, user?.text ?? '']);
}
