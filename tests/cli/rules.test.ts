import { expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rulesCommand } from '../../src/cli/rules.ts';
import { tempDir } from '../helpers/test-app.ts';

const capture = () => {
  const chunks: string[] = [];
  return { write: (s: string) => chunks.push(s) > 0, text: () => chunks.join('') };
};

test('rules check validates a user rule file and names the bad rule and field', async () => {
  const dir = tempDir();
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    good,
    "rules:\n  - { id: ev.code.meter, enabled: false, weight: 1, reason: 'meters are fine here' }\n",
  );
  writeFileSync(bad, "rules:\n  - { id: site.psu, target: { match: '[' }, weight: 1, reason: r }\n");
  const out = capture();
  const err = capture();
  expect(await rulesCommand(['check', good], out as never, err as never)).toBe(0);
  expect(out.text()).toContain('ok: 1 rules (replacing built-in ev.code.meter)');
  const out2 = capture();
  expect(await rulesCommand(['check', bad], out2 as never, err as never)).toBe(1);
  expect(out2.text()).toContain("rule 'site.psu' (rules[0]) target.match: invalid regular expression");
  expect(await rulesCommand(['frobnicate'], out as never, err as never)).toBe(2);
});
