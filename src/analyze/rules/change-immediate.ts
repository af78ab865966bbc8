import { clockTime, span } from '../text.ts';
import { changeLabel } from './change-recency.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { CREDIBLE, IMMEDIATE, IMMEDIATE_MS } from '../weights.ts';

/**
 * change.immediate: the failure began within minutes of a change (a deploy at 05:31, the first
 * "404 WebSocket Upgrade Failure" at 05:32). A broken change shows at the next use of what it
 * changed; a change that ran for hours before anything went wrong had its chance to show and did
 * not. The beginning is the failing service's first new warning or error, or, for a failure that
 * began before the window, the first of its lines' beginnings after the change (facts.ts).
 */
export const changeImmediate: RuleFamily = {
  id: 'change.immediate',
  run(facts) {
    const out: Finding[] = [];
    const own = facts.onset.get(facts.failing) ?? facts.T;
    for (const cf of facts.changes) {
      if (cf.docsOnly || cf.credibility < CREDIBLE) continue;
      const t = cf.change.timestamp;
      const at = Math.min(own, cf.nextBeginning ?? own);
      const lead = at - t;
      if (lead < 0 || lead > IMMEDIATE_MS) continue;
      const weight = IMMEDIATE * cf.credibility;
      const reason = `the failure began ${span(lead)} after ${changeLabel(cf.change)} (${clockTime(t)} -> ${clockTime(at)})`;
      for (const service of cf.services)
        out.push({
          ruleId: 'change.immediate',
          service,
          weight,
          reason,
          changeId: cf.change.id,
          evidence: [{ kind: 'change', text: reason, weight, changeId: cf.change.id, timestamp: t }],
        });
    }
    return out;
  },
};
