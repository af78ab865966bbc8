import { levelRank } from '../core/log-line.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { EvidenceBundle, EvidenceEvent, EvidenceLog, PatternHistory } from './evidence.ts';
import type { EventFact, LogFact, Novelty, PatternFact, TriggerEvent } from './facts.ts';
import { classify } from './novelty.ts';
import { EPISODE_MS } from './weights.ts';
import { reportsLostContact } from './silent-peer.ts';
import { cmp, messagePattern, words } from './text.ts';
import { isVague } from './vocabulary.ts';
import { mapCommonNames, mapNameIndex, NO_COMMON_NAMES, nameIndex, namesIn } from './outside.ts';

const WARN = levelRank.warn;

/** How a pattern of one candidate, seen `n` times in the window, compares with its baseline. */
type NoveltyOf = (key: string, n: number) => Novelty;

/**
 * The window's lines and events as the signals read them: each candidate's warn+ lines grouped
 * into message patterns (counts first, since they decide spiking versus chronic), the trigger's
 * own failure left out of the events, and every line and event classified against its baseline.
 */
export function windowFacts(input: {
  event: TriggerEvent;
  graph: SystemGraph;
  evidence: EvidenceBundle;
  windowStart: number;
  failing: string;
  /** The candidate a raw service name stands for, or null. */
  asCandidate(name: string): string | null;
  resolveName(name: string): string | null;
}): { logFacts: LogFact[]; eventFacts: EventFact[]; patterns: Map<string, PatternFact[]> } {
  const { evidence, windowStart, asCandidate } = input;
  const history = new Map<string, PatternHistory>();
  for (const h of evidence.history) {
    const s = asCandidate(h.service);
    if (s) history.set(`${s}\u0000${h.pattern}`, h);
  }
  const novelty: NoveltyOf = (key, n) =>
    classify(history, key, n, evidence.windowMs, windowStart, evidence.baselineMs);
  // A pattern of the episode still going on began when the baseline first saw it, not at its first
  // line inside the window: that is when the service's trouble started (DNS failing since 07:10,
  // the OCPP client noticing at 07:42).
  const began = (key: string, firstInWindow: number, novel: Novelty): number => {
    const h = history.get(key);
    return novel !== 'chronic' &&
      h &&
      !h.sampled &&
      h.count > 0 &&
      h.firstTs >= windowStart - EPISODE_MS &&
      h.firstTs < firstInWindow
      ? h.firstTs
      : firstInWindow;
  };
  // The failing session's own pattern that began within the look-back, before the window's first
  // line of it, is this failure going on since then, not business as usual: its beginning dates it.
  const episode = (key: string, correlated: boolean, firstInWindow: number): number | undefined => {
    const h = history.get(key);
    return correlated && h && !h.sampled && h.began !== undefined && h.began < firstInWindow
      ? h.began
      : undefined;
  };
  const lines = linePatterns(input, novelty, began, episode);
  const events = eventPatterns(input, novelty);
  const patterns = new Map<string, PatternFact[]>();
  for (const p of [...lines.patterns, ...events.patterns])
    patterns.set(p.service, [...(patterns.get(p.service) ?? []), p]);
  for (const list of patterns.values())
    list.sort((a, b) => a.firstTs - b.firstTs || cmp(a.pattern, b.pattern));
  return { logFacts: lines.logFacts, eventFacts: events.eventFacts, patterns };
}

/** Window lines, each classified, and the candidates' warn+ lines grouped by message pattern. */
function linePatterns(
  input: Parameters<typeof windowFacts>[0],
  novelty: NoveltyOf,
  began: (key: string, firstInWindow: number, novel: Novelty) => number,
  episode: (key: string, correlated: boolean, firstInWindow: number) => number | undefined,
): { logFacts: LogFact[]; patterns: PatternFact[] } {
  const { event, graph, evidence, windowStart, failing, asCandidate } = input;
  const T = event.timestamp;
  const triggerWords = words(
    `${event.eventType} ${event.errorCode} ${event.message ?? ''} ${Object.values(event.details).join(' ')}`,
  );
  const restatesTrigger = (message: string) => {
    const w = [...words(message)];
    return w.length > 0 && w.filter((x) => triggerWords.has(x)).length * 2 >= w.length;
  };
  // Another service's line that names the failing one or points into its files (Home Assistant's
  // energy integration on the OpenEVSE charge rate, EVerest's manager on "Module ocpp exited")
  // reports the failing service's trouble: like the failing service restating its trigger, it
  // says little of its own.
  const failingIndex = nameIndex(graph, [failing]);
  const failingFiles = (graph.services.get(failing)?.files ?? []).filter((f) => f.includes('/'));
  const aboutFailing = (message: string) =>
    namesIn(message, failingIndex, NO_COMMON_NAMES).length > 0 ||
    failingFiles.some((f) => message.includes(f));
  // So does a line naming another service other than as a lost peer: the host process logging a
  // plugin's failure to load a library ("Setup failed for custom integration 'ocpp': cannot import
  // name 'ConnectorStatusType' from 'ocpp.v201.enums'") tells about that library, which the naming
  // rule credits (rules/mentions.ts). A lost peer's name says whom the speaker lost, not that the
  // speaker relays (silent-peer.ts weighs those).
  const everyone = mapNameIndex(graph);
  const aboutWhom = (service: string, message: string): string | undefined => {
    if (aboutFailing(message)) return failing;
    if (reportsLostContact(message)) return undefined;
    return namesIn(message, everyone, mapCommonNames(evidence.logs, graph)).find((s) => s !== service);
  };
  const raw = new Map<string, { service: string; lines: EvidenceLog[] }>();
  const logs = evidence.logs
    .filter((l) => l.ts >= windowStart && l.ts <= T)
    .sort((a, b) => a.ts - b.ts || cmp(a.service, b.service) || cmp(a.message, b.message));
  const pre = logs.map((l) => ({ l, candidate: asCandidate(l.service), pattern: messagePattern(l.message) }));
  for (const p of pre) {
    if (!p.candidate || levelRank[p.l.level] < WARN) continue;
    const key = `${p.candidate}\u0000${p.pattern}`;
    const entry = raw.get(key) ?? { service: p.candidate, lines: [] };
    entry.lines.push(p.l);
    raw.set(key, entry);
  }
  const logFacts: LogFact[] = pre.map((p) => {
    const key = `${p.candidate}\u0000${p.pattern}`;
    return {
      ...p.l,
      candidate: p.candidate,
      pattern: p.pattern,
      novelty: p.candidate ? novelty(key, raw.get(key)?.lines.length ?? 1) : 'new',
    };
  });
  const patterns = [...raw].map(([key, { service, lines }]): PatternFact => {
    const first = lines[0]!;
    const correlated = lines.some((l) => l.correlated);
    const since = episode(key, correlated, first.ts);
    const novel = since !== undefined ? 'spiking' : novelty(key, lines.length);
    const about = service === failing ? undefined : aboutWhom(service, first.message);
    return {
      service,
      pattern: key.slice(service.length + 1),
      level: lines.reduce((m, l) => (levelRank[l.level] > levelRank[m] ? l.level : m), first.level),
      count: lines.length,
      firstTs: since ?? began(key, first.ts, novel),
      correlated,
      novelty: novel,
      example: first.message,
      fromEvent: false,
      vague: isVague(first.message, graph),
      restates: service === failing ? restatesTrigger(first.message) : about !== undefined,
      ...(about ? { about } : {}),
      lostContact: reportsLostContact(first.message),
      ...(lines.every((l) => l.otherSession) ? { otherSession: true } : {}),
    };
  });
  return { logFacts, patterns };
}

/**
 * Window events, each classified, grouped per candidate by type and code. Earlier occurrences of
 * the trigger's own failure are the same symptom, not evidence about a cause (they are counted in
 * failureHistory instead).
 */
function eventPatterns(
  input: Parameters<typeof windowFacts>[0],
  novelty: NoveltyOf,
): { eventFacts: EventFact[]; patterns: PatternFact[] } {
  const { event, evidence, windowStart, failing, asCandidate, resolveName } = input;
  const T = event.timestamp;
  const sameFailure = (e: EvidenceEvent) =>
    e.eventType === event.eventType && e.errorCode === event.errorCode && resolveName(e.service) === failing;
  const events = evidence.events
    .filter((e) => e.id !== event.id && e.ts >= windowStart && e.ts <= T && !sameFailure(e))
    .sort((a, b) => a.ts - b.ts || cmp(a.id, b.id));
  const groups = new Map<string, EvidenceEvent[]>();
  for (const e of events) {
    const s = asCandidate(e.service);
    if (!s) continue;
    const key = `${s}\u0000event:${e.eventType}:${e.errorCode}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const eventFacts: EventFact[] = events.map((e) => {
    const s = asCandidate(e.service);
    const key = `${s}\u0000event:${e.eventType}:${e.errorCode}`;
    return { ...e, candidate: s, novelty: s ? novelty(key, groups.get(key)?.length ?? 1) : 'new' };
  });
  const patterns = [...groups].map(([key, list]): PatternFact => {
    const service = key.slice(0, key.indexOf('\u0000'));
    const first = list[0]!;
    return {
      service,
      pattern: key.slice(service.length + 1),
      level: 'error',
      count: list.length,
      firstTs: first.ts,
      correlated: list.some((e) => e.correlated),
      novelty: novelty(key, list.length),
      example: `${first.eventType} ${first.errorCode}${first.message ? `: ${first.message}` : ''}`,
      fromEvent: true,
      vague: false,
      restates: false,
      lostContact: reportsLostContact(`${first.errorCode} ${first.message ?? ''}`),
    };
  });
  return { eventFacts, patterns };
}
