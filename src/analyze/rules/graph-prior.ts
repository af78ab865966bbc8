import type { RuleFamily } from './finding.ts';

/** Prior of the failing service itself. */
export const PRIOR_FAILING = 0.5;
/** Prior shared by all its dependencies; each hop away halves a dependency's share. */
export const PRIOR_DEPENDENCIES = 0.5;

/**
 * graph.prior: without other evidence the service that reported the failure is the best guess,
 * then its direct dependencies, then theirs. The total prior is 1 however large the map, so
 * evidence, not map size, decides; a dependency's prior never exceeds a nearer one's.
 */
export const graphPrior: RuleFamily = {
  id: 'graph.prior',
  run(facts) {
    let mass = 0;
    for (const c of facts.candidates) if (c.distance > 0) mass += 0.5 ** (c.distance - 1);
    return facts.candidates.map((c) => {
      const weight = c.distance === 0 ? PRIOR_FAILING : (PRIOR_DEPENDENCIES * 0.5 ** (c.distance - 1)) / mass;
      const reason =
        c.distance === 0
          ? `reported the ${facts.event.eventType}${facts.failingKnown ? '' : ' (not in the system map)'}`
          : `${facts.failing} depends on it (${c.distance} hop${c.distance > 1 ? 's' : ''}: ${c.path.join(' -> ')})`;
      return {
        ruleId: 'graph.prior',
        service: c.service,
        weight,
        reason,
        evidence: [{ kind: 'graph', text: reason, weight, distance: c.distance, path: c.path }],
      };
    });
  },
};
