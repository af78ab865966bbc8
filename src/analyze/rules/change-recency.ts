import type { Evidence } from '../../core/report.ts';
import { type ChangeFact, sharedWords } from '../changes.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { CHANGE_WEIGHT, OVERLAP_WEIGHT, UNMAPPED_CHANGE } from '../weights.ts';

export const changeLabel = (c: ChangeFact['change']): string =>
  c.sha ? `commit ${c.sha.slice(0, 7)}` : `${c.kind} ${c.id}`;

/** change.recent: every change to a candidate within the look-back, by recency and shared words. */
export const changeRecency: RuleFamily = {
  id: 'change.recent',
  run(facts) {
    const out: Finding[] = [];
    for (const cf of facts.changes) {
      const c = cf.change;
      const notes = [...cf.notes];
      const shared = sharedWords(cf.words, facts.failureWords);
      const overlap = cf.docsOnly ? 0 : OVERLAP_WEIGHT * Math.min(1, shared.length / 2);
      if (overlap) notes.push(`mentions ${shared.slice(0, 4).join(', ')} like the failure`);
      const base = (CHANGE_WEIGHT + overlap) * cf.credibility;
      const reason = `${changeLabel(c)} '${c.summary.split('\n')[0]!.slice(0, 120)}' (${notes.join('; ')})`;
      for (const service of cf.services) {
        // A service the map does not know may not be on the failure's path at all: its change is
        // the only evidence it has, and it counts half.
        const o = facts.outside.get(service);
        const k = o && !o.mapped ? UNMAPPED_CHANGE : 1;
        const weight = base * k;
        const fn = cf.touched.get(service)?.[0];
        const ev: Evidence = {
          kind: 'change',
          text: reason,
          weight,
          changeId: c.id,
          changeKind: c.kind,
          timestamp: c.timestamp,
          ...(c.sha ? { sha: c.sha } : {}),
          ...(fn ? { function: fn } : {}),
          files: c.files.slice(0, 10),
        };
        out.push({
          ruleId: 'change.recent',
          service,
          weight,
          reason,
          evidence: [ev],
          changeId: c.id,
          function: fn,
          ...(overlap ? {} : { untied: true }),
        });
      }
    }
    return out;
  },
};
