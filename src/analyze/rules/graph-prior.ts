import { levelRank } from '../../core/log-line.ts';
import type { ChangeFact } from '../changes.ts';
import type { Facts } from '../facts.ts';
import { words } from '../text.ts';
import type { RuleFamily } from './finding.ts';
import { CREDIBLE, PRIOR_DEPENDENCIES, PRIOR_FAILING } from '../weights.ts';

/** A change that could have altered the service: credible, and it edits a mapped function or is a firmware/config push. */
const alters = (cf: ChangeFact, service: string) =>
  cf.credibility >= CREDIBLE &&
  ((cf.touched.get(service)?.length ?? 0) > 0 ||
    cf.change.kind === 'firmware' ||
    cf.change.kind === 'config');

/**
 * Dependencies that take over the failing service's prior: the failing service has no credible
 * change and no specific error of its own beyond restating the failure, and they have a change
 * that could have altered them. "It reported it" is then no reason to suspect it first.
 */
export function priorYieldsTo(facts: Facts): string[] {
  const { failing } = facts;
  if ((facts.changesOf.get(failing) ?? []).some((cf) => cf.credibility >= CREDIBLE && !cf.docsOnly))
    return [];
  // Its lines that share a word with the trigger's type, code or message report the failure itself.
  const trigger = words(`${facts.event.eventType} ${facts.event.errorCode} ${facts.event.message ?? ''}`);
  const restates = (text: string) => [...words(text)].some((w) => trigger.has(w));
  const ownError = (facts.patterns.get(failing) ?? []).some(
    (p) =>
      !p.vague && p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.error && !restates(p.example),
  );
  if (ownError) return [];
  return facts.candidates
    .filter(
      (c) =>
        c.distance > 0 &&
        !facts.outside.has(c.service) &&
        (facts.changesOf.get(c.service) ?? []).some((cf) => alters(cf, c.service)),
    )
    .map((c) => c.service);
}

/**
 * graph.prior: without other evidence the service that reported the failure is the best guess,
 * then its direct dependencies, then theirs. The total prior is 1 however large the map, so
 * evidence, not map size, decides; a dependency's prior never exceeds a nearer one's, except that
 * the failing service's share goes to changed dependencies when it has nothing of its own.
 */
export const graphPrior: RuleFamily = {
  id: 'graph.prior',
  run(facts) {
    let mass = 0;
    const declared = facts.candidates.filter((c) => !facts.outside.has(c.service));
    for (const c of declared) if (c.distance > 0) mass += 0.5 ** (c.distance - 1);
    const heirs = priorYieldsTo(facts);
    const share = heirs.length ? PRIOR_FAILING / heirs.length : 0;
    const outside = facts.candidates.flatMap((c) => {
      const o = facts.outside.get(c.service);
      if (!o) return [];
      const reason = `outside the map's dependencies of ${facts.failing}, considered because ${o.why}`;
      return [
        {
          ruleId: 'graph.prior',
          service: c.service,
          weight: 0,
          reason,
          evidence: [{ kind: 'graph' as const, text: reason, weight: 0 }],
        },
      ];
    });
    return [
      ...declared.map((c) => {
        const inherits = heirs.includes(c.service);
        // "It reported it" outweighs "it is under it": no single dependency starts level with the
        // failing service, however few dependencies it has.
        const weight =
          c.distance === 0
            ? heirs.length
              ? 0
              : PRIOR_FAILING
            : Math.min(PRIOR_FAILING / 2, (PRIOR_DEPENDENCIES * 0.5 ** (c.distance - 1)) / mass) +
              (inherits ? share : 0);
        const reason =
          c.distance === 0
            ? `reported the ${facts.event.eventType}${facts.failingKnown ? '' : ' (not in the system map)'}${
                heirs.length ? ', but has no credible change and no error of its own beyond the failure' : ''
              }`
            : `${facts.failing} depends on it (${c.distance} hop${c.distance > 1 ? 's' : ''}: ${c.path.join(' -> ')})${
                inherits ? `; changed while ${facts.failing} shows nothing of its own` : ''
              }`;
        return {
          ruleId: 'graph.prior',
          service: c.service,
          weight,
          reason,
          evidence: [{ kind: 'graph' as const, text: reason, weight, distance: c.distance, path: c.path }],
        };
      }),
      ...outside,
    ];
  },
};
