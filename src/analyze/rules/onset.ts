import { clockTime, span } from '../text.ts';
import type { RuleFamily } from './finding.ts';
import { ONSET_WEIGHT } from '../weights.ts';

/**
 * logs.onset: the earliest anomaly on the failure's trail (trail.ts), i.e. where the visible
 * propagation through the dependencies began. Without a trail, the failing service gets it when it
 * logged a new warning or error before any other candidate did.
 */
export const onset: RuleFamily = {
  id: 'logs.onset',
  run(facts) {
    const { trail, onset: first, failing, T } = facts;
    let starts: string[];
    let at: number;
    if (trail.parent.size) {
      at = Math.min(...[...trail.parent.keys()].map((s) => first.get(s)!));
      starts = [...trail.parent.keys()].filter((s) => first.get(s) === at).sort();
    } else {
      at = first.get(failing) ?? T;
      const others = [...first].filter(([s]) => s !== failing).map(([, t]) => t);
      if (at >= T || !others.length || Math.min(...others) <= at) return [];
      starts = [failing];
    }
    return starts.map((service) => {
      const reason = `failed first: its first new warning or error came at ${clockTime(at)}, ${span(T - at)} before the ${facts.event.eventType}${
        service === failing ? ', before any dependency' : `, and the anomalies lead from it to ${failing}`
      }`;
      return {
        ruleId: 'logs.onset',
        service,
        weight: ONSET_WEIGHT,
        reason,
        evidence: [{ kind: 'graph', text: reason, weight: ONSET_WEIGHT, timestamp: at }],
      };
    });
  },
};
