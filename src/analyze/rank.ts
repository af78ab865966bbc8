import { clip } from '../core/clip.ts';
import { cmp, span } from './text.ts';
import type { Change } from '../core/change.ts';
import type { BlamedChange, Evidence, Hypothesis } from '../core/report.ts';
import type { Adjustments } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Finding } from './rules/finding.ts';
import { changeLabel } from './rules/change-recency.ts';
import {
  disturbedBy,
  explainedBy,
  reportsOnly,
  reportsPeer,
  startedBy,
  troubled,
} from './rules/log-errors.ts';
import {
  BLAME_MIN,
  LOST_PEER_CHANGE,
  NATS_PER_POINT,
  OFF_TRAIL_CHANGE,
  REPORTER_CHANGE,
  SYMPTOM,
  UNEXPLAINED,
  UNTIED_CHANGE,
} from './weights.ts';

export const MAX_HYPOTHESES = 5;
const MAX_EVIDENCE = 12;
const MAX_REASONS = 6;

export interface Scored {
  service: string;
  score: number;
  findings: Finding[];
  change: { change: Change; total: number; findings: Finding[] } | null;
}

/**
 * Adds up the findings per candidate. A candidate's changes compete: only the best-supported change
 * counts (an engineer blames one change, not the sum of a week's commits).
 */
export function score(facts: Facts, findings: Finding[], adjustments: Adjustments = {}): Scored[] {
  const byService = new Map<string, { base: number; findings: Finding[]; changes: Map<string, Finding[]> }>();
  for (const c of facts.candidates) byService.set(c.service, { base: 0, findings: [], changes: new Map() });
  // The failing service's own change records weigh less unless one edited its code (weights.ts).
  const ownRecordsOnly = reportsOnly(facts, facts.failing);
  const aboutPeer = reportsPeer(facts, facts.failing);
  // ... except a change the failure began right after: a client regression loses its server too.
  const began = new Set(
    findings
      .filter((f) => f.ruleId === 'change.immediate' && f.service === facts.failing)
      .map((f) => f.changeId),
  );
  for (const f of findings) {
    const s = byService.get(f.service);
    if (!s) continue;
    const changed = f.changeId !== undefined;
    const own = changed && f.service === facts.failing && ownRecordsOnly;
    const peerOnly = own && aboutPeer && !began.has(f.changeId);
    const elsewhere = changed && troubledOffTrail(facts, f.service);
    // What the engine's own structure discounts shows in the evidence; a learnt multiplier does not
    // (learning reads the evidence of stored reports, and would count itself twice).
    const learnt = adjustments.rules?.[f.ruleId] ?? 1;
    const structural =
      (own ? REPORTER_CHANGE * (peerOnly ? LOST_PEER_CHANGE : 1) : 1) * (elsewhere ? OFF_TRAIL_CHANGE : 1);
    const note = own
      ? peerOnly
        ? ` (the failing service's own change record, and its lines are about a peer: counts ${REPORTER_CHANGE * LOST_PEER_CHANGE})`
        : ` (the failing service's own change record: counts ${REPORTER_CHANGE})`
      : elsewhere
        ? ` (its own anomalies are off the failure's trail, so its change shows elsewhere: counts ${OFF_TRAIL_CHANGE})`
        : '';
    const adj =
      learnt === 1 && structural === 1
        ? f
        : { ...scaled(f, structural, `${f.reason}${note}`), weight: f.weight * structural * learnt };
    if (adj.changeId) s.changes.set(adj.changeId, [...(s.changes.get(adj.changeId) ?? []), adj]);
    else {
      s.base += adj.weight;
      s.findings.push(adj);
    }
  }
  // A candidate whose anomalies follow those of a dependency on the failure's trail is a symptom:
  // everything that rests on its own anomalies (logs, rules, mentions) counts half. Its prior and
  // its changes stand on their own.
  for (const [service, s] of byService) {
    const cause = explainedBy(facts, service);
    const change = cause ? null : disturbedBy(facts, service);
    if (!cause && !change) continue;
    let cut = 0;
    s.findings = s.findings.map((f) => {
      if (f.ruleId === 'graph.prior' || f.weight <= 0) return f;
      cut += f.weight * (1 - SYMPTOM);
      return { ...f, weight: f.weight * SYMPTOM };
    });
    if (cut === 0) continue;
    s.base -= cut;
    const started = cause && service === facts.failing ? startedBy(facts) : null;
    const reason =
      started?.service === cause
        ? `its anomalies began ${span(facts.onset.get(service)! - started.change.change.timestamp)} after ${cause}'s ${changeLabel(started.change.change)}, and it did not change in that time: likely that change's effect (its evidence counts half)`
        : cause
          ? `its anomalies follow those of its dependency ${cause} on the failure's trail, so likely a symptom (its evidence counts half)`
          : `its anomalies began ${span(facts.onset.get(service)! - change!.change.timestamp)} after ${facts.failing}'s ${changeLabel(change!.change)}, and it did not change itself: likely that change's effect (its evidence counts half)`;
    s.findings.push({
      ruleId: 'logs.symptom',
      service,
      weight: 0,
      reason,
      evidence: [{ kind: 'graph', text: reason, weight: -cut, explainedBy: cause ?? facts.failing }],
    });
  }
  // A change that nothing ties to the failure counts UNTIED_CHANGE, and its reasons say so. One on
  // a service whose anomalies lead to the failure (the trail) is tied to it through them.
  for (const [service, s] of byService)
    for (const [id, list] of s.changes)
      if (!tiedToFailure(list) && !onTrail(facts, service))
        s.changes.set(
          id,
          list.map((f) =>
            scaled(
              f,
              UNTIED_CHANGE,
              f.ruleId === 'change.recent'
                ? `${f.reason} (nothing ties it to this failure but its time: counts ${UNTIED_CHANGE})`
                : f.reason,
            ),
          ),
        );
  const changeById = new Map(facts.changes.map((c) => [c.change.id, c.change]));
  const out: Scored[] = [];
  for (const [service, s] of byService) {
    let best: Scored['change'] = null;
    for (const [id, list] of s.changes) {
      const change = changeById.get(id);
      if (!change) continue;
      const total = changeTotal(list);
      if (
        !best ||
        total > best.total ||
        (total === best.total &&
          (change.timestamp > best.change.timestamp ||
            (change.timestamp === best.change.timestamp && change.id < best.change.id)))
      )
        best = { change, total, findings: list };
    }
    const k = adjustments.services?.[service] ?? 1;
    const raw = s.base + Math.max(0, best?.total ?? 0);
    out.push({ service, score: Math.max(0, raw * k), findings: s.findings, change: best });
  }
  // Deterministic: score, then the nearer candidate (the summary says when scores tie), then name
  // only to make the order stable; tied candidates get the same confidence.
  const distance = (s: string) => facts.candidate.get(s)?.distance ?? Number.POSITIVE_INFINITY;
  return out.sort(
    (a, b) =>
      b.score - a.score ||
      distance(a.service) - distance(b.service) ||
      (a.service < b.service ? -1 : a.service > b.service ? 1 : 0),
  );
}

/** A finding counted k times its weight: its evidence shows what it counted (the UI lists it, learning reads it). */
const scaled = (f: Finding, k: number, reason: string): Finding => ({
  ...f,
  weight: f.weight * k,
  reason,
  evidence: f.evidence.map((e) => ({ ...e, weight: e.weight * k })),
});

/**
 * A candidate other than the failing one with new anomalies of its own, none of them on the
 * failure's trail (trail.ts): its trouble began after the service on the path that depends on it
 * had already failed, or leads nowhere near the failure. Whatever its change did shows there.
 */
function troubledOffTrail(facts: Facts, service: string): boolean {
  return service !== facts.failing && !facts.trail.parent.has(service) && troubled(facts, service);
}

/** A service other than the failing one whose anomaly the failure's trail runs through (trail.ts). */
const onTrail = (facts: Facts, service: string): boolean =>
  service !== facts.failing && facts.trail.parent.has(service);

/**
 * What a change's findings add up to: evidence that ties it to the failure adds, while what only
 * describes the change (a config push that alters a timeout and an OCPP key) counts once, at its
 * strongest: three descriptions of one edit are not three independent observations.
 */
function changeTotal(list: readonly Finding[]): number {
  let linked = 0;
  let described = 0;
  for (const f of list) {
    if (f.describesChange) described = Math.max(described, f.weight);
    else linked += f.weight;
  }
  return linked + described;
}

/**
 * Something ties the change to this failure: words it shares with it, a beginning at its onset, a
 * version or identifier the failure states, an earlier diagnosis; or it edits a function the map
 * lists for the service, which puts it in that code rather than beside it.
 */
const tiedToFailure = (list: readonly Finding[]): boolean =>
  list.some((f) => (!f.describesChange && !f.untied) || f.ruleId === 'ev.change.mapped-function');

const floor3 = (x: number) => Math.floor(x * 1000) / 1000;

function blamed(c: Change): BlamedChange {
  return {
    ...(c.sha ? { sha: c.sha } : { id: c.id }),
    message: clip(c.summary.split('\n')[0]!, 200),
    ...(c.author ? { author: c.author } : {}),
    ...(c.url ? { url: c.url } : {}),
  };
}

/** The odds a score stands for against a service with no evidence (weights.ts, NATS_PER_POINT). */
const odds = (score: number) => Math.expm1(NATS_PER_POINT * Math.max(0, score));

/** Turns scores into ranked hypotheses with confidences that sum to at most 1. */
export function toHypotheses(facts: Facts, scored: Scored[]): Hypothesis[] {
  const total = scored.reduce((s, x) => s + odds(x.score), 0) + odds(UNEXPLAINED);
  const top = scored.filter((s, i) => i === 0 || s.score > 0).slice(0, MAX_HYPOTHESES);
  return top.map((s, i) => {
    const blame = s.change && s.change.total >= BLAME_MIN ? s.change : null;
    const findings = [...s.findings, ...(s.change?.findings ?? [])].filter(
      (f) => f.weight !== 0 || f.ruleId === 'logs.symptom',
    );
    // The symptom note weighs what it took away, so it is listed where it matters.
    const size = (f: Finding) => Math.abs(f.weight || (f.evidence[0]?.weight ?? 0));
    findings.sort((a, b) => size(b) - size(a) || cmp(a.ruleId, b.ruleId));
    const reasons = [...new Set(findings.map((f) => f.reason))].slice(0, MAX_REASONS);
    // Every item names the rule or signal that produced it (the UI groups by it; learning weights by it).
    const evidence: Evidence[] = findings
      .flatMap((f) => f.evidence.map((e) => (e.ruleId ? e : { ...e, ruleId: f.ruleId })))
      .sort((a, b) => b.weight - a.weight || cmp(a.text, b.text))
      .slice(0, MAX_EVIDENCE)
      .map((e) => ({ ...e, weight: Math.round(e.weight * 1000) / 1000 }));
    const fn = blame?.findings.find((f) => f.function)?.function ?? mentionedFunction(facts, s.service);
    const file = blame ? ownFile(facts, s.service, blame.change) : undefined;
    return {
      rank: i + 1,
      service: s.service,
      ...(file ? { file } : {}),
      ...(fn ? { function: fn } : {}),
      ...(blame ? { change: blamed(blame.change) } : {}),
      confidence: floor3(odds(s.score) / total),
      reasons,
      evidence,
    };
  });
}

/** The first changed file the service owns. */
function ownFile(facts: Facts, service: string, change: Change): string | undefined {
  return change.files.find((f) => facts.graph.servicesForFile(f).includes(service)) ?? change.files[0];
}

/** A mapped function of the service named by the trigger or by the service's own window lines. */
export function mentionedFunction(facts: Facts, service: string): string | undefined {
  const fns = facts.graph.services.get(service)?.functions ?? [];
  if (!fns.length) return undefined;
  const texts = [
    ...(service === facts.failing
      ? [facts.event.message ?? '', facts.event.details.function ?? '', facts.event.details.method ?? '']
      : []),
    ...(facts.patterns.get(service) ?? []).map((p) => p.example),
  ];
  for (const t of texts) for (const fn of fns) if (t?.includes(fn)) return fn;
  return undefined;
}
