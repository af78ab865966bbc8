import type { Evidence, Hypothesis } from './report.ts';

/** The signal an evidence item belongs to: its rule id when it has one, else its kind. */
export const signalOf = (e: Evidence): string =>
  typeof e.ruleId === 'string' && e.ruleId ? e.ruleId : e.kind;

/** Summed evidence weight per signal of one hypothesis, strongest first. */
export function signals(h: Hypothesis): Array<{ signal: string; weight: number; items: Evidence[] }> {
  const m = new Map<string, { signal: string; weight: number; items: Evidence[] }>();
  for (const e of h.evidence) {
    const key = signalOf(e);
    const s = m.get(key) ?? { signal: key, weight: 0, items: [] };
    s.weight += e.weight;
    s.items.push(e);
    m.set(key, s);
  }
  return [...m.values()].sort((a, b) => b.weight - a.weight);
}
