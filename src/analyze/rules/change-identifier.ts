import { changeLabel } from './change-recency.ts';
import { reportsOnly } from './log-errors.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { IDENTIFIER_WEIGHT } from '../weights.ts';

/**
 * change.identifier: a change names an identifier the failure states (a field, a file, a message
 * name: facts.failureIdentifiers), the way an engineer greps the error's KeyError in the week's
 * commits and release notes.
 */
export const changeIdentifier: RuleFamily = {
  id: 'change.identifier',
  run(facts) {
    if (!facts.failureIdentifiers.size) return [];
    const out: Finding[] = [];
    for (const cf of facts.changes) {
      if (cf.docsOnly) continue;
      const shared = [...cf.base.identifiers.keys()].filter((k) => facts.failureIdentifiers.has(k)).sort();
      if (!shared.length) continue;
      const weight = IDENTIFIER_WEIGHT * cf.standing;
      const quoted = shared.slice(0, 3).map((k) => {
        const [own, said] = [cf.base.identifiers.get(k)!, facts.failureIdentifiers.get(k)!];
        return own === said ? `'${own}'` : `'${own}' ('${said}' in the failure)`;
      });
      const reason = `${changeLabel(cf.change)} names ${quoted.join(', ')}, which the failure states`;
      for (const service of cf.services) {
        if (reportsOnly(facts, service)) continue;
        out.push({
          ruleId: 'change.identifier',
          service,
          weight,
          reason,
          changeId: cf.change.id,
          evidence: [{ kind: 'change', text: reason, weight, changeId: cf.change.id }],
        });
      }
    }
    return out;
  },
};
