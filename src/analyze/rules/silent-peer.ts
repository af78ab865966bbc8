import { clockTime } from '../text.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { SILENT_PEER } from '../weights.ts';

/** logs.silent: a dependency that went quiet while the service that depends on it reports losing it. */
export const silentPeer: RuleFamily = {
  id: 'logs.silent',
  run(facts) {
    const out: Finding[] = [];
    for (const [reporter, s] of facts.silentPeers) {
      const reason = `${reporter} reports losing it${s.named ? '' : ` (its only dependency that said nothing)`}${s.voiceless ? ', and it has no logs of its own' : ', and it logged nothing in the window'}: "${s.example.slice(0, 160)}"`;
      out.push({
        ruleId: 'logs.silent',
        service: s.peer,
        weight: SILENT_PEER,
        reason,
        evidence: [
          {
            kind: 'log',
            text: `${clockTime(s.ts)} ${reporter}: ${s.example.slice(0, 300)} (${s.peer} silent)`,
            weight: SILENT_PEER,
            service: reporter,
            timestamp: s.ts,
          },
        ],
      });
    }
    return out;
  },
};
