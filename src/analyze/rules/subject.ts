import type { Candidate, SystemGraph } from '../../map/graph.ts';
import type { EvidenceLog } from '../evidence.ts';
import { reportsLostContact } from '../silent-peer.ts';
import { reportsReply } from '../replies.ts';
import { commonNames, nameIndex, namesIn } from '../outside.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { SUBJECT } from '../weights.ts';

/**
 * logs.subject: the failing service's own report is about a component it depends on, and that
 * component said nothing. Detectors report what they detect: a controller's "STUCK RELAY: AC voltage
 * present with relay commanded open" (open_evse main.cpp) or "GFCI FAULT" is about the relay or the
 * GFCI, and a relay, a sense coil or a meter behind a bus has no logs of its own to speak with. The
 * reporter then reads as the symptom of its subject (rules/log-errors.ts explainedBy).
 */
export interface Subject {
  service: string;
  /** The statement that names it. */
  example: string;
}

/** "STUCK_RELAY" -> "STUCK RELAY", "PowerMeterFailure" -> "Power Meter Failure". */
const codeWords = (code: string) =>
  code
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[^A-Za-z0-9]+/g, ' ');

/** The one silent candidate the trigger's statement names, if exactly one. */
export function subjectOf(input: {
  graph: SystemGraph;
  failing: string;
  candidates: readonly Candidate[];
  logs: readonly EvidenceLog[];
  /** Candidates that never speak (silent-peer.ts voicelessOf). */
  voiceless: ReadonlySet<string>;
  errorCode: string;
  message: string;
}): Subject | null {
  // The error code is the firmware's own name for the condition, and codes name their component:
  // OCPP 1.6's ChargePointErrorCode (ConnectorLockFailure, PowerMeterFailure, PowerSwitchFailure,
  // ReaderFailure, GroundFailure), OpenEVSE's STUCK_RELAY / GFCI_FAULT. Free text is not read: "never
  // appeared at the CSMS" names the CSMS without being about it.
  const statement = codeWords(input.errorCode);
  // "Lost the connection to the CSMS" does not say which end broke: the peer, the link or the
  // reporter itself (a silent peer that stopped talking is logs.silent's case). A peer that
  // answered ("CSMS rejected StopTransaction") is not a silent component (replies.ts).
  const said = `${input.errorCode} ${statement} ${input.message}`;
  if (reportsLostContact(said) || reportsReply(said)) return null;
  const others = input.candidates.map((c) => c.service).filter((s) => s !== input.failing);
  const index = nameIndex(input.graph, others);
  if (!index.size) return null;
  const named = new Set(namesIn(statement, index, commonNames(input.logs, index)));
  // It has no voice: a service that can speak for itself is judged on its own lines (and one that
  // went quiet is logs.silent's case).
  const silent = [...named].filter((s) => input.voiceless.has(s));
  return silent.length === 1 ? { service: silent[0]!, example: input.errorCode } : null;
}

export const subject: RuleFamily = {
  id: 'logs.subject',
  run(facts) {
    const s = facts.subject;
    if (!s) return [];
    const reason = `${facts.failing}'s report is about it, and it has no logs of its own: "${s.example.slice(0, 160)}"`;
    return [
      {
        ruleId: 'logs.subject',
        service: s.service,
        weight: SUBJECT,
        reason,
        evidence: [
          { kind: 'log', text: reason, weight: SUBJECT, service: facts.failing, timestamp: facts.T },
        ],
      } satisfies Finding,
    ];
  },
};
