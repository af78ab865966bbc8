import { levelRank } from '../core/log-line.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { EvidenceBundle, EvidenceEvent, EvidenceLog, PatternHistory } from './evidence.ts';
import type { EventFact, LogFact, PatternFact, TriggerEvent } from './facts.ts';
import { classify } from './novelty.ts';
import { reportsLostContact } from './silent-peer.ts';
import { cmp, messagePattern, words } from './text.ts';
import { isVague } from './vocabulary.ts';

const WARN = levelRank.warn;

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
  const { event, graph, evidence, windowStart, failing, asCandidate, resolveName } = input;
  const T = event.timestamp;
  const history = new Map<string, PatternHistory>();
  for (const h of evidence.history) {
    const s = asCandidate(h.service);
    if (s) history.set(`${s}\u0000${h.pattern}`, h);
  }

  const triggerWords = words(
    `${event.eventType} ${event.errorCode} ${event.message ?? ''} ${Object.values(event.details).join(' ')}`,
  );
  const restatesTrigger = (message: string) => {
    const w = [...words(message)];
    return w.length > 0 && w.filter((x) => triggerWords.has(x)).length * 2 >= w.length;
  };

  // Window patterns first (counts decide spiking versus chronic), then per-line facts.
  const raw = new Map<string, { service: string; lines: EvidenceLog[] }>();
  const inWindow = (ts: number) => ts >= windowStart && ts <= T;
  const logs = evidence.logs
    .filter((l) => inWindow(l.ts))
    .sort((a, b) => a.ts - b.ts || cmp(a.service, b.service) || cmp(a.message, b.message));
  const pre = logs.map((l) => ({ l, candidate: asCandidate(l.service), pattern: messagePattern(l.message) }));
  for (const p of pre) {
    if (!p.candidate || levelRank[p.l.level] < WARN) continue;
    const key = `${p.candidate}\u0000${p.pattern}`;
    const entry = raw.get(key) ?? { service: p.candidate, lines: [] };
    entry.lines.push(p.l);
    raw.set(key, entry);
  }
  const novelty = (key: string, n: number) =>
    classify(history, key, n, evidence.windowMs, windowStart, evidence.baselineMs);

  const logFacts: LogFact[] = pre.map((p) => ({
    ...p.l,
    candidate: p.candidate,
    pattern: p.pattern,
    novelty: p.candidate
      ? novelty(
          `${p.candidate}\u0000${p.pattern}`,
          raw.get(`${p.candidate}\u0000${p.pattern}`)?.lines.length ?? 1,
        )
      : 'new',
  }));

  const patterns = new Map<string, PatternFact[]>();
  const push = (p: PatternFact) => {
    const list = patterns.get(p.service) ?? [];
    list.push(p);
    patterns.set(p.service, list);
  };
  for (const [key, { service, lines }] of raw) {
    const first = lines[0]!;
    push({
      service,
      pattern: key.slice(service.length + 1),
      level: lines.reduce((m, l) => (levelRank[l.level] > levelRank[m] ? l.level : m), first.level),
      count: lines.length,
      firstTs: first.ts,
      correlated: lines.some((l) => l.correlated),
      novelty: novelty(key, lines.length),
      example: first.message,
      fromEvent: false,
      vague: isVague(first.message, graph),
      restates: service === failing && restatesTrigger(first.message),
      lostContact: reportsLostContact(first.message),
    });
  }

  const eventGroups = new Map<string, EvidenceEvent[]>();
  // Earlier occurrences of the trigger's own failure are the same symptom, not evidence about a cause
  // (they are counted in failureHistory instead).
  const sameFailure = (e: EvidenceEvent) =>
    e.eventType === event.eventType && e.errorCode === event.errorCode && resolveName(e.service) === failing;
  const events = evidence.events
    .filter((e) => e.id !== event.id && inWindow(e.ts) && !sameFailure(e))
    .sort((a, b) => a.ts - b.ts || cmp(a.id, b.id));
  for (const e of events) {
    const s = asCandidate(e.service);
    if (!s) continue;
    const key = `${s}\u0000event:${e.eventType}:${e.errorCode}`;
    eventGroups.set(key, [...(eventGroups.get(key) ?? []), e]);
  }
  const eventFacts: EventFact[] = events.map((e) => {
    const s = asCandidate(e.service);
    const key = `${s}\u0000event:${e.eventType}:${e.errorCode}`;
    return { ...e, candidate: s, novelty: s ? novelty(key, eventGroups.get(key)?.length ?? 1) : 'new' };
  });
  for (const [key, list] of eventGroups) {
    const service = key.slice(0, key.indexOf('\u0000'));
    const first = list[0]!;
    push({
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
    });
  }
  for (const list of patterns.values())
    list.sort((a, b) => a.firstTs - b.firstTs || cmp(a.pattern, b.pattern));

  return { logFacts, eventFacts, patterns };
}
