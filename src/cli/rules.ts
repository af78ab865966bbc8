import { builtInRules, ruleSet } from '../analyze/rules/pack.ts';
import { parseRules } from '../analyze/rules/schema.ts';
import { readInputFile } from './args.ts';

export const rulesUsage = 'usage: tracepulse rules check FILE | tracepulse rules list';

/** `tracepulse rules check FILE` validates a user rule file; `rules list` prints the built-in pack's ids. */
export async function rulesCommand(
  args: string[],
  out = process.stdout,
  err = process.stderr,
): Promise<number> {
  const [sub, file] = args;
  if (sub === 'list') {
    for (const r of builtInRules) out.write(`${r.id}\t${r.weight}\t${r.spec.description ?? r.reason}\n`);
    return 0;
  }
  if (sub !== 'check' || !file) {
    err.write(`${rulesUsage}\n`);
    return 2;
  }
  const text = readInputFile(file, err);
  if (text === null) return 1;
  const r = parseRules(text, file);
  if (!r.ok) {
    for (const p of r.problems) out.write(`error: ${p}\n`);
    return 1;
  }
  const builtIn = new Set(builtInRules.map((x) => x.id));
  const replaced = r.rules.filter((x) => builtIn.has(x.id)).map((x) => x.id);
  out.write(
    `ok: ${r.rules.length} rules${replaced.length ? ` (replacing built-in ${replaced.join(', ')})` : ''}; model version ${ruleSet({ rules: r.rules, text }).version}\n`,
  );
  return 0;
}
