import { levelRank } from '../../core/log-line.ts';
import { reportsReply } from '../replies.ts';
import { clockTime, words } from '../text.ts';
import type { PatternFact } from '../facts.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { CLOCK_SKEW_MS, CODE_ORIGIN } from '../weights.ts';

/**
 * logs.code-origin: the trigger's error code in another candidate's own words, said first
 * ("tx process still running" before the app's TxProcessStillRunning). Error codes travel up the
 * dependencies as they are relayed; the service that stated the condition before the failing one
 * reported it is where it arose. Only the earliest such service (within the clock skew) gets it.
 */
export interface CodeStatement {
  service: string;
  ts: number;
  example: string;
}

/** The earliest candidates (within the skew) whose new warn+ line says the trigger's error code in words. */
export function codeStatedBy(input: {
  errorCode: string;
  failing: string;
  /** The failing service's first anomaly (or the trigger). */
  failingOnset: number;
  patterns: ReadonlyMap<string, readonly PatternFact[]>;
}): CodeStatement[] {
  const code = words(input.errorCode);
  if (code.size < 2) return [];
  // The code's identifier itself is relayed verbatim along the chain ("vendorErrorCode=..."); only a
  // statement of the condition in other words says where it was seen.
  const ident = input.errorCode.toLowerCase().replace(/^.*[/:]/, '');
  const until = input.failingOnset + CLOCK_SKEW_MS;
  const said: CodeStatement[] = [];
  for (const [service, list] of input.patterns) {
    if (service === input.failing) continue;
    const p = list.find((p) => {
      if (p.novelty === 'chronic' || levelRank[p.level] < levelRank.warn || p.firstTs > until) return false;
      if (p.example.toLowerCase().includes(ident)) return false;
      // A reply (an OCPP CallError, a Modbus exception response) is where the request was judged,
      // not where the condition arose: whose fault it is, the protocol's rules say (pack, replies.ts).
      if (reportsReply(p.example)) return false;
      const w = words(p.example);
      return [...code].every((c) => w.has(c));
    });
    if (p) said.push({ service, ts: p.firstTs, example: p.example });
  }
  if (!said.length) return [];
  const first = Math.min(...said.map((s) => s.ts));
  return said.filter((s) => s.ts <= first + CLOCK_SKEW_MS).sort((a, b) => a.ts - b.ts);
}

export const codeOrigin: RuleFamily = {
  id: 'logs.code-origin',
  run(facts) {
    return [...facts.codeOrigins.values()].map((s) => {
      const reason = `it stated the ${facts.event.errorCode} condition itself at ${clockTime(s.ts)}, before ${facts.failing} reported it: "${s.example.slice(0, 160)}"`;
      return {
        ruleId: 'logs.code-origin',
        service: s.service,
        weight: CODE_ORIGIN,
        reason,
        evidence: [
          { kind: 'log' as const, text: reason, weight: CODE_ORIGIN, service: s.service, timestamp: s.ts },
        ],
      } satisfies Finding;
    });
  },
};
