import { span } from '../text.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { CASCADE_WEIGHT } from '../weights.ts';

/** cascade.cited: an earlier, linked trigger was diagnosed as caused by this candidate. */
export const cascade: RuleFamily = {
  id: 'cascade.cited',
  run(facts) {
    const out: Finding[] = [];
    for (const d of facts.linked) {
      if (!facts.candidate.has(d.root)) continue;
      const weight = CASCADE_WEIGHT * d.confidence;
      const reason = `the ${d.eventType} on ${d.service} ${span(facts.T - d.ts)} earlier was diagnosed as ${d.root} (${Math.round(d.confidence * 100)}%)${d.changeId ? `, change ${d.changeId}` : ''}; ${d.why}`;
      const change = d.changeId
        ? facts.changes.find(
            (c) => (c.change.id === d.changeId || c.change.sha === d.changeId) && c.services.includes(d.root),
          )
        : undefined;
      out.push({
        ruleId: 'cascade.cited',
        service: d.root,
        weight,
        reason,
        evidence: [{ kind: 'rule', text: reason, weight, reportId: d.reportId, timestamp: d.ts }],
        ...(change ? { changeId: change.change.id } : {}),
      });
    }
    return out;
  },
};
