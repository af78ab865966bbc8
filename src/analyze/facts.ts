import type { DebugEvent } from '../core/event.ts';
import { levelRank } from '../core/log-line.ts';
import type { Candidate, SystemGraph } from '../map/graph.ts';
import { type ChangeFact, changeFacts, sharedWords } from './changes.ts';
import type { EvidenceBundle, EvidenceEvent, EvidenceLog, FailureHistory } from './evidence.ts';
import { IDENTIFIER_MIN, identifiers, nameKey, words } from './text.ts';
import { type LinkedDiagnosis, lookOutside, type OutsideCandidate } from './outside.ts';
import { type SilentPeer, silentPeers, spokeIn, voicelessOf } from './silent-peer.ts';
import { CREDIBLE } from './weights.ts';
import { type Trail, trailOf } from './trail.ts';
import { windowFacts } from './patterns.ts';
import { type CodeStatement, codeStatedBy } from './rules/code-origin.ts';
import { type Subject, subjectOf } from './rules/subject.ts';

/** The trigger as the engine needs it (a stored DebugEvent fits). */
export type TriggerEvent = Pick<
  DebugEvent,
  'id' | 'eventType' | 'service' | 'errorCode' | 'correlationId' | 'details' | 'timestamp' | 'message'
>;

/** new: never seen in the baseline; spiking: seen, but far above its own rate (novelty.ts); chronic: business as usual. */
export type Novelty = 'new' | 'spiking' | 'chronic';

export interface LogFact extends EvidenceLog {
  /** The map's name for the service, or null when it is not a candidate. */
  candidate: string | null;
  pattern: string;
  novelty: Novelty;
}

export interface EventFact extends EvidenceEvent {
  candidate: string | null;
  novelty: Novelty;
}

/** One message pattern of one candidate inside the window (warn and above). */
export interface PatternFact {
  service: string;
  pattern: string;
  level: LogFact['level'];
  count: number;
  firstTs: number;
  correlated: boolean;
  novelty: Novelty;
  example: string;
  fromEvent: boolean;
  /** The message names no component, device or condition ("Command failed: Timeout"). */
  vague: boolean;
  /**
   * A line of the failing service that says again what the trigger says (most of its words are the
   * trigger's), or another service's line that names the failing one or one of its files, or names
   * another service other than as a peer it lost ("Setup failed for custom integration 'ocpp':
   * cannot import name ... from 'ocpp.v201.enums'"): the report of a failure, not evidence about
   * the speaker.
   */
  restates: boolean;
  /** Whom another service's restating line is about (the failing service or the one it names). */
  about?: string;
  /** The message reports lost contact with a peer ("no response from ...", silent-peer.ts): it is about the peer. */
  lostContact: boolean;
  /** Every line of it carries another session's correlationId: it is about that session. */
  otherSession?: boolean;
}

export interface Facts {
  event: TriggerEvent;
  graph: SystemGraph;
  T: number;
  windowStart: number;
  /** The failing service: the map's name, or the event's own name when the map does not know it. */
  failing: string;
  failingKnown: boolean;
  candidates: Candidate[];
  candidate: Map<string, Candidate>;
  /** Candidates outside the map's closure of the failing service that the evidence points at. */
  outside: Map<string, OutsideCandidate>;
  /** Earlier diagnoses this failure's evidence links to (cascades). */
  linked: LinkedDiagnosis[];
  logs: LogFact[];
  events: EventFact[];
  /** Window patterns (warn+ logs and events) by candidate. */
  patterns: Map<string, PatternFact[]>;
  /** First new or spiking warn+ line or event per candidate; the trigger counts for the failing service. */
  onset: Map<string, number>;
  /** The failure's trail of anomalies back from the failing service (see trail.ts). */
  trail: Trail;
  /** Candidates that lost contact with a dependency that said nothing, by reporter (silent-peer.ts). */
  silentPeers: Map<string, SilentPeer>;
  /** Candidates that stated the trigger's error code in their own words first (rules/code-origin.ts). */
  codeOrigins: Map<string, CodeStatement>;
  /** What the failing service says in the trigger itself: its error code and message. */
  triggerStatement: string;
  /** The silent component the failing service's report is about (rules/subject.ts). */
  subject: Subject | null;
  changes: ChangeFact[];
  /** The changes of each candidate (a change touching several is listed under each). */
  changesOf: Map<string, ChangeFact[]>;
  /** Earlier occurrences of the same failure (service and error code) within the look-back. */
  failureHistory: FailureHistory;
  /** Words describing the failure: type, code, message and the candidates' new error messages. */
  failureWords: Set<string>;
  /**
   * Compound identifiers the failure states (text.ts identifiers): in the trigger and the
   * candidates' new warnings or worse, not in their routine lines, not a map name or alias.
   */
  failureIdentifiers: Map<string, string>;
  resolveName(name: string): string | null;
  /** Name, aliases, module, description and files: what `target.match` regexes see. */
  descriptor(service: string): string;
}

const WARN = levelRank.warn;

/** Resolves names, classifies patterns and maps changes: everything the signals share. */
export function buildFacts(input: {
  event: TriggerEvent;
  graph: SystemGraph;
  evidence: EvidenceBundle;
  lookbackMs: number;
  /** Map services outside the closure that a domain rule points at, and why. */
  pointedAt?: ReadonlyMap<string, string>;
}): Facts {
  const { event, graph, evidence } = input;
  const T = event.timestamp;
  const windowStart = T - evidence.windowMs;
  const known = graph.resolve(event.service);
  const failing = known ?? event.service;
  const failingKey = nameKey(event.service);
  const declared = graph.failureCandidates(event.service);
  const { outside, linked } = lookOutside({
    event,
    graph,
    evidence,
    failing,
    closure: new Set(declared.map((c) => c.service)),
    windowStart,
    pointedAt: input.pointedAt,
  });
  // Names the map does not know (a service missing from it) resolve to themselves once considered.
  const unmapped = new Map(
    [...outside.values()].filter((o) => !o.mapped).map((o) => [nameKey(o.service), o.service]),
  );
  const resolveName = (name: string) =>
    graph.resolve(name) ??
    (!known && nameKey(name) === failingKey ? failing : (unmapped.get(nameKey(name)) ?? null));

  const candidates: Candidate[] = [
    ...declared,
    ...[...outside.values()].map((o) => ({ service: o.service, distance: 1, path: [failing, o.service] })),
  ];
  const candidate = new Map(candidates.map((c) => [c.service, c]));
  const asCandidate = (name: string) => {
    const r = resolveName(name);
    return r && candidate.has(r) ? r : null;
  };

  const { logFacts, eventFacts, patterns } = windowFacts({
    event,
    graph,
    evidence,
    windowStart,
    failing,
    asCandidate,
    resolveName,
  });

  const beginnings = failureBeginnings(evidence, asCandidate, patterns, failing);
  const changes = changeFacts(
    evidence.changes,
    graph,
    new Set(candidate.keys()),
    resolveName,
    T,
    input.lookbackMs,
    {
      eventType: event.eventType,
      errorCode: event.errorCode,
      history: evidence.failureHistory,
      beginnings,
      ...(evidence.sessionBegan !== undefined ? { sessionBegan: evidence.sessionBegan } : {}),
    },
  );
  const changesOf = new Map<string, ChangeFact[]>();
  for (const cf of changes) for (const s of cf.services) changesOf.set(s, [...(changesOf.get(s) ?? []), cf]);

  const failureText = [
    event.eventType,
    event.errorCode,
    event.message ?? '',
    ...[...patterns.values()].flat().flatMap((p) => (p.novelty === 'chronic' ? [] : [p.example])),
  ].join('\n');
  const failureWords = words(failureText);

  // A change that speaks of the failure ("reconnect after a pong timeout") is the reporter's own suspect however old.
  const speaksOf = (cf: ChangeFact) => sharedWords(cf.words, failureWords).length >= 2;
  // A dependency that went quiet while its dependent reports losing it: the reports are about it.
  const quiet = new Set((evidence.wentQuiet ?? []).map((n) => graph.resolve(n) ?? n));
  const spoke = spokeIn(logFacts, eventFacts);
  const voiceless = voicelessOf({
    candidates: candidate.keys(),
    spoke,
    wentQuiet: quiet,
    history: new Set(evidence.history.map((h) => graph.resolve(h.service) ?? h.service)),
  });
  const triggerStatement = `${event.errorCode} ${event.message ?? ''}`;
  const silent = silentPeers({
    graph,
    candidates: new Set(candidate.keys()),
    patterns,
    logs: logFacts,
    events: eventFacts,
    wentQuiet: quiet,
    spoke,
    voiceless,
    changed: new Set(
      [...changesOf]
        .filter(([, list]) => list.some((cf) => !cf.docsOnly && (cf.credibility >= CREDIBLE || speaksOf(cf))))
        .map(([s]) => s),
    ),
    trigger: { service: failing, text: triggerStatement, ts: T },
  });

  // Onset: when each candidate first logged something that is not business as usual (a new or
  // spiking warning counts: roots often only warn while their symptoms error). Another session's
  // trouble does not date this one's, nor does a service's that is considered only for speaking on
  // the failing session: its other warnings are no part of it.
  const onset = new Map<string, number>([[failing, T]]);
  for (const [service, list] of patterns)
    for (const p of list)
      if (
        p.novelty !== 'chronic' &&
        !p.otherSession &&
        !(outside.get(service)?.session && !p.correlated) &&
        levelRank[p.level] >= WARN &&
        p.firstTs < (onset.get(service) ?? T + 1)
      )
        onset.set(service, p.firstTs);

  const codeOrigins = new Map(
    codeStatedBy({ errorCode: event.errorCode, failing, failingOnset: onset.get(failing)!, patterns }).map(
      (c) => [c.service, c],
    ),
  );

  const subject = subjectOf({
    graph,
    failing,
    candidates,
    logs: logFacts,
    voiceless,
    errorCode: event.errorCode,
    message: event.message ?? '',
  });

  const trail = trailOf({ graph, failing, candidate, outside, patterns, onset });
  const failureIdentifiers = failureIdentifiersOf(event, graph, patterns, [failing, ...trail.parent.keys()]);

  const descriptors = new Map<string, string>();
  const descriptor = (service: string) => {
    let d = descriptors.get(service);
    if (d === undefined) {
      const n = graph.services.get(service);
      d = n ? [n.name, ...n.aliases, n.module ?? '', n.description ?? '', ...n.files].join(' ') : service;
      descriptors.set(service, d);
    }
    return d;
  };

  return {
    event,
    graph,
    T,
    windowStart,
    failing,
    failingKnown: known !== null,
    candidates,
    candidate,
    outside,
    linked,
    logs: logFacts,
    events: eventFacts,
    patterns,
    onset,
    trail,
    silentPeers: silent,
    codeOrigins,
    triggerStatement,
    subject,
    changes,
    changesOf,
    failureHistory: evidence.failureHistory,
    failureWords,
    failureIdentifiers,
    resolveName,
    descriptor,
  };
}

function failureIdentifiersOf(
  event: TriggerEvent,
  graph: SystemGraph,
  patterns: Map<string, PatternFact[]>,
  trail: readonly string[],
): Map<string, string> {
  const all = [...patterns.values()].flat();
  const said = [
    event.message ?? '',
    ...Object.values(event.details),
    ...trail
      .flatMap((s) => patterns.get(s) ?? [])
      .filter((p) => p.novelty !== 'chronic' && levelRank[p.level] >= WARN)
      .map((p) => p.example),
  ];
  const out = identifiers(said.join('\n'));
  for (const key of identifiers(
    all
      .filter((p) => p.novelty === 'chronic')
      .map((p) => p.example)
      .join('\n'),
  ).keys())
    out.delete(key);
  // Names of the station's parts (OpenEVSE in openevse_wifi, custom_components in an alias) are
  // mentions, not identifiers: rules/mentions.ts reads them. A short name ("HA", "EVSE") makes
  // an identifier a name only as one of its words (easee_hass), not inside one (chargerPhases1p3p).
  const names = [...graph.services.values()].flatMap((n) => [n.name, ...n.aliases].map(nameKey));
  for (const [key, raw] of [...out]) {
    const parts = new Set(wordsOf(raw));
    if (names.some((n) => n.includes(key) || (n.length >= IDENTIFIER_MIN ? key.includes(n) : parts.has(n))))
      out.delete(key);
  }
  return out;
}

/** The words of a compound identifier, as name keys: easee_hass -> easee, hass; chargerPhases1p3p -> charger, phases1p3p. */
const wordsOf = (raw: string): string[] =>
  raw
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.\-/]+/)
    .map(nameKey)
    .filter(Boolean);

/**
 * When the failure's own lines began: each of the failing service's error patterns and of the
 * candidates' warnings on the failing session, at its beginning within the change look-back
 * (PatternHistory.began) or, new in the window, at its first line. Empty unless one began before
 * the baseline saw it as new: a monitor may raise the trigger days into a failure that started
 * with an update (a GX updated to Venus OS 2.80, then "Modbus address 777 is not registered" at
 * every poll). Sorted, earliest first.
 */
function failureBeginnings(
  evidence: EvidenceBundle,
  asCandidate: (name: string) => string | null,
  patterns: Map<string, PatternFact[]>,
  failing: string,
): number[] {
  const began = new Map<string, number>();
  for (const h of evidence.history) {
    const s = asCandidate(h.service);
    if (s && h.began !== undefined) began.set(`${s}\u0000${h.pattern}`, h.began);
  }
  if (!began.size) return [];
  const out: number[] = [];
  let known = false;
  for (const [service, list] of patterns)
    for (const p of list) {
      const own = service === failing && levelRank[p.level] >= levelRank.error;
      if (p.otherSession || p.fromEvent || !(own || (p.correlated && levelRank[p.level] >= WARN))) continue;
      const t = began.get(`${service}\u0000${p.pattern}`);
      if (t !== undefined) {
        known = true;
        out.push(t);
      } else if (p.novelty === 'new') out.push(p.firstTs);
    }
  return known ? out.sort((a, b) => a - b) : [];
}
