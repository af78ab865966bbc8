import { clockTime } from '../text.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { SILENT_PEER, SILENT_PEER_RELAYED } from '../weights.ts';

/** logs.silent: a dependency that went quiet while the service that depends on it reports losing it. */
export const silentPeer: RuleFamily = {
  id: 'logs.silent',
  run(facts) {
    const out: Finding[] = [];
    for (const [reporter, s] of facts.silentPeers) {
      const weight = s.through ? SILENT_PEER_RELAYED : SILENT_PEER;
      const reason = s.silenced
        ? `${reporter} reports losing ${s.silenced}, which depends on it and fell silent after its trouble began: "${s.example.slice(0, 160)}"`
        : `${reporter} reports losing it${s.through ? ` (through ${s.through}, which lost it first)` : s.named ? '' : ` (its only dependency that said nothing)`}${s.voiceless ? ', and it has no logs of its own' : ', and it logged nothing in the window'}: "${s.example.slice(0, 160)}"`;
      out.push({
        ruleId: 'logs.silent',
        service: s.peer,
        weight,
        reason,
        evidence: [
          {
            kind: 'log',
            text: `${clockTime(s.ts)} ${reporter}: ${s.example.slice(0, 300)} (${s.silenced ?? s.peer} silent)`,
            weight,
            service: reporter,
            timestamp: s.ts,
          },
        ],
      });
    }
    return out;
  },
};
