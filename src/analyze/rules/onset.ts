import { clockTime, span } from '../text.ts';
import type { RuleFamily } from './finding.ts';

/** Root causes usually log first and symptoms follow: the first candidate to fail gets this much. */
export const ONSET_WEIGHT = 1;

/**
 * logs.onset: among the candidates with a new error in the window (the failing service counts at
 * the trigger's time), the one whose errors started first. Needs at least two to compare.
 */
export const onset: RuleFamily = {
  id: 'logs.onset',
  run(facts) {
    if (facts.onset.size < 2) return [];
    const first = Math.min(...facts.onset.values());
    const firsts = [...facts.onset].filter(([, t]) => t === first).map(([s]) => s);
    if (firsts.length === facts.onset.size) return [];
    return firsts.sort().map((service) => {
      const reason =
        first === facts.T
          ? `failed first: no candidate logged a new error before the ${facts.event.eventType}`
          : `failed first: its errors started at ${clockTime(first)}, ${span(facts.T - first)} before the ${facts.event.eventType} and before any other candidate's`;
      return {
        ruleId: 'logs.onset',
        service,
        weight: ONSET_WEIGHT,
        reason,
        evidence: [{ kind: 'graph', text: reason, weight: ONSET_WEIGHT, timestamp: first }],
      };
    });
  },
};
