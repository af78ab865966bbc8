import { describe, expect, test } from 'bun:test';
import { builtInRules, ruleSet } from '../../src/analyze/rules/pack.ts';
import { parseRules } from '../../src/analyze/rules/schema.ts';

describe('rule files', () => {
  test('the built-in EV pack is valid and covers the main EV subsystems', () => {
    const ids = builtInRules.map((r) => r.id);
    expect(ids.length).toBeGreaterThan(30);
    for (const id of [
      'ev.code.meter',
      'ev.code.hlc',
      'ev.log.slac',
      'ev.log.psu-can',
      'ev.change.mapped-function',
    ])
      expect(ids).toContain(id);
  });

  test('problems name the rule id and the field, all at once', () => {
    const r = parseRules(
      `rules:
  - id: site.meter
    when: { log: { text: '(unclosed' } }
    weight: 1
    reason: x
  - id: site.psu
    target: { match: psu, relation: sibling }
    weight: 9
    reason: y
`,
      'rules.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.problems.join('\n');
    expect(text).toContain(
      "rules.yaml: rule 'site.meter' (rules[0]) when.log.text: invalid regular expression",
    );
    expect(text).toContain("rule 'site.psu' (rules[1]) target.relation:");
    expect(text).toContain("rule 'site.psu' (rules[1]) weight:");
  });

  test('unknown fields, duplicate ids, reserved ids and YAML syntax errors are rejected', () => {
    const unknown = parseRules('rules:\n  - id: a\n    weight: 1\n    reason: r\n    wieght: 2\n', 'u.yaml');
    expect(unknown.ok).toBe(false);
    const dup = parseRules(
      'rules:\n  - { id: a, weight: 1, reason: r }\n  - { id: a, weight: 1, reason: r }\n',
      'd.yaml',
    );
    expect(dup.ok ? [] : dup.problems).toEqual(["d.yaml: rule 'a' id: duplicate id"]);
    const reserved = parseRules('rules:\n  - { id: graph.prior, weight: 1, reason: r }\n', 'r.yaml');
    expect(reserved.ok ? '' : reserved.problems.join()).toContain('reserved');
    const syntax = parseRules('rules:\n  - id: [\n', 's.yaml');
    expect(syntax.ok ? '' : syntax.problems.join()).toContain('YAML syntax error at line');
  });

  test('a user rule with a built-in id replaces it; enabled: false switches it off', () => {
    const off = parseRules(
      'rules:\n  - { id: ev.code.meter, enabled: false, weight: 1, reason: off }\n',
      'u',
    );
    if (!off.ok) throw new Error(off.problems.join());
    const set = ruleSet({ rules: off.rules, text: 'off' });
    expect(set.rules.some((r) => r.id === 'ev.code.meter')).toBe(false);
    expect(set.rules.length).toBe(builtInRules.length - 1);
    expect(set.version).not.toBe(ruleSet().version);
    expect(set.version).toMatch(/^rules-[0-9a-f]{8}$/);
  });
});
