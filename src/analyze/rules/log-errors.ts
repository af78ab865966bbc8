import { levelRank } from '../../core/log-line.ts';
import type { Evidence } from '../../core/report.ts';
import type { ChangeFact } from '../changes.ts';
import type { Facts, PatternFact } from '../facts.ts';
import { clockTime, cmp, span } from '../text.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { heardIn, reportsLostContact, servesOthers } from '../silent-peer.ts';
import { mapNameIndex, NO_COMMON_NAMES, nameIndex, namesIn } from '../outside.ts';
import { mentionsFunction } from '../changes.ts';
import {
  CASCADE_MS,
  CLOCK_SKEW_MS,
  CORRELATED,
  CREDIBLE,
  LEVEL_WEIGHT,
  LOG_WEIGHT_CAP,
  LOST_PEER_REPORTER,
  RELAY,
  NOVELTY_WEIGHT,
  OTHER_SESSION,
  REPORTER,
  RESTATED,
  VAGUE,
} from '../weights.ts';

export const patternWeight = (p: PatternFact): number =>
  LEVEL_WEIGHT[p.level] *
  NOVELTY_WEIGHT[p.novelty] *
  (p.correlated ? CORRELATED : 1) *
  (p.vague ? VAGUE : 1) *
  (p.restates ? RESTATED : 1) *
  (p.otherSession ? OTHER_SESSION : 1) *
  (1 + 0.25 * Math.log2(p.count));

/**
 * The trail service that explains `service`'s anomalies: one of its dependencies on the failure's
 * trail whose anomaly came first by more than the clock skew between sources (for the failing
 * service, any service the trail starts from it). Within the skew the order is unknown, except
 * when what the service said first is about that dependency: it names it ("no grid measurement
 * from site_meter") or reports lost contact ("connection closed", "no response"). Such a report
 * follows its subject, so a dependency failing at about the same time explains it. So does a
 * dependency that stated the trigger's error code in its own words (rules/code-origin.ts).
 */
export function explainedBy(facts: Facts, service: string): string | null {
  if (service === facts.failing && facts.subject) return facts.subject.service;
  const own = facts.onset.get(service) ?? Number.POSITIVE_INFINITY;
  // What it said first (within the skew of its onset).
  const first = (facts.patterns.get(service) ?? []).filter(
    (p) =>
      p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.warn && p.firstTs <= own + CLOCK_SKEW_MS,
  );
  const said = first.length
    ? first.map((p) => p.example)
    : service === facts.failing
      ? [facts.triggerStatement]
      : [];
  const reportsLoss = said.some(reportsLostContact);
  const names = (dep: string) => {
    const index = nameIndex(facts.graph, [dep]);
    const fns = facts.graph.services.get(dep)?.functions ?? [];
    return said.some(
      (text) =>
        namesIn(text, index, NO_COMMON_NAMES).length > 0 || fns.some((fn) => mentionsFunction(text, fn)),
    );
  };
  let best: string | null = null;
  let bestTs = Number.POSITIVE_INFINITY;
  for (const [dep, parent] of facts.trail.parent) {
    if (parent !== service) continue;
    // A dependency whose trouble began with this service's own change does not explain it.
    if (service === facts.failing && disturbedBy(facts, dep)) continue;
    const t = facts.onset.get(dep)!;
    const about = reportsLoss || names(dep) || (service === facts.failing && facts.codeOrigins.has(dep));
    if (
      (about ? t <= own + CLOCK_SKEW_MS : t < own - CLOCK_SKEW_MS) &&
      (t < bestTs || (t === bestTs && dep < (best ?? '')))
    ) {
      best = dep;
      bestTs = t;
    }
  }
  if (best) return best;
  // A dependency that says nothing itself but changed just before, named by what the service said
  // first ("cannot create charger type 'eebus': eebus not configured" after an EEBUS rework): the
  // service reports that dependency's trouble.
  const changedBefore = (s: string) =>
    (facts.changesOf.get(s) ?? []).some(
      (cf) => !cf.docsOnly && cf.credibility >= CREDIBLE && cf.change.timestamp <= own,
    );
  const quietChanged = (facts.graph.services.get(service)?.dependsOn ?? []).filter(
    (dep) => !facts.onset.has(dep) && facts.candidate.has(dep) && changedBefore(dep),
  );
  for (const dep of quietChanged) if (names(dep) && (best === null || dep < best)) best = dep;
  if (best) return best;
  // Unnamed, the only quiet dependency that changed is still what changed upstream of the first
  // complaint (a fuse limit lowered in the grid connection point, then the energy manager granting
  // 0 A), unless the service changed itself or others use that dependency without complaint.
  if (service === facts.failing) {
    const started = startedBy(facts);
    if (started) return started.service;
  }
  const only = quietChanged.length === 1 ? quietChanged[0]! : null;
  if (
    only &&
    facts.onset.has(service) &&
    !changedBefore(service) &&
    !servesOthers(facts.graph, only, service, heardIn(facts.graph, facts.logs), (u) => troubled(facts, u))
  )
    return only;
  return best;
}

/**
 * The failing service's latest change within CASCADE_MS before `service`'s first anomaly, when
 * `service` did not change itself in that time: its trouble began with that change (a plugin release its host then fails
 * to load, a client restarted with new settings), so its anomalies are that change's effect, not
 * the failure's start.
 */
export function disturbedBy(facts: Facts, service: string): ChangeFact | null {
  if (service === facts.failing) return null;
  const own = facts.onset.get(service);
  if (own === undefined || changedJustBefore(facts, service, own).length) return null;
  return latestOf(changedJustBefore(facts, facts.failing, own));
}

/**
 * The change of another candidate that came shortly before the failing service's first anomaly,
 * when the failing service did not change in that time: a dependency's release, a framework bump
 * every module runs on (everest-core bumping everest-framework 0.18.1 -> 0.19.1, then OCPP
 * crashing at start). The candidate must not have been in trouble before its change.
 */
export function startedBy(facts: Facts): { service: string; change: ChangeFact } | null {
  // Asked by the symptom cut, the onset and the report's reasons: computed once per trigger.
  if (startedMemo.has(facts)) return startedMemo.get(facts)!;
  const found = findStartedBy(facts);
  startedMemo.set(facts, found);
  return found;
}

const startedMemo = new WeakMap<Facts, { service: string; change: ChangeFact } | null>();

function findStartedBy(facts: Facts): { service: string; change: ChangeFact } | null {
  const own = facts.onset.get(facts.failing);
  if (own === undefined || own >= facts.T || changedJustBefore(facts, facts.failing, own).length) return null;
  let best: { service: string; change: ChangeFact } | null = null;
  for (const { service } of facts.candidates) {
    if (service === facts.failing) continue;
    const since = facts.onset.get(service);
    const cf = latestOf(
      changedJustBefore(facts, service, own).filter(
        (c) => since === undefined || since >= c.change.timestamp,
      ),
    );
    if (
      cf &&
      (!best ||
        cf.change.timestamp > best.change.change.timestamp ||
        (cf.change.timestamp === best.change.change.timestamp && service < best.service))
    )
      best = { service, change: cf };
  }
  return best;
}

/**
 * Credible changes of `service` in the CASCADE_MS before `at`: older ones had time to show and did
 * not (a config push the day before, quiet until a dependent's deploy).
 */
function changedJustBefore(facts: Facts, service: string, at: number): ChangeFact[] {
  return (facts.changesOf.get(service) ?? []).filter(
    (cf) =>
      !cf.docsOnly &&
      cf.credibility >= CREDIBLE &&
      cf.change.timestamp <= at &&
      at - cf.change.timestamp <= CASCADE_MS,
  );
}

const latestOf = (list: ChangeFact[]): ChangeFact | null =>
  list.reduce<ChangeFact | null>((a, b) => (!a || b.change.timestamp > a.change.timestamp ? b : a), null);

/** A new warning or worse of the service in the window. */
export const troubled = (facts: Facts, service: string) =>
  (facts.patterns.get(service) ?? []).some(
    (p) => p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.warn,
  );

/**
 * A change in the look-back that edits the service's own code: files the map gives it or one of its
 * mapped functions (not docs or tests). A release or configuration record alone does not say so,
 * nor does a configuration record that edits a file the map lists (pv_opt's config.yaml edited half
 * an hour before the KeyError that Octopus Energy 16.0.0 caused, stevebuk1/pv_opt#410).
 */
export const editedOwnCode = (facts: Facts, service: string) =>
  (facts.changesOf.get(service) ?? []).some(
    (cf) =>
      !cf.docsOnly &&
      cf.change.kind !== 'config' &&
      ((cf.touched.get(service)?.length ?? 0) > 0 || cf.base.ownedBy.has(service)),
  );

/**
 * The failing service when no change edited its own code: what it logs, and the change records it
 * carries, it would have whatever the root is (weights.ts REPORTER, REPORTER_CHANGE).
 */
export const reportsOnly = (facts: Facts, service: string) =>
  service === facts.failing && !editedOwnCode(facts, service);

/**
 * The failing service, its own code unchanged, says among its new lines that it lost a peer, or
 * names another candidate ("cannot import name 'Evnex' from 'evnex'", hardbyte/ha-evnex#17): it is
 * telling about that one, and its other errors follow.
 */
export function reportsPeer(facts: Facts, service: string): boolean {
  if (!reportsOnly(facts, service)) return false;
  const names = (text: string) =>
    namesIn(text, mapNameIndex(facts.graph), NO_COMMON_NAMES).some(
      (s) => s !== service && facts.candidate.has(s),
    );
  return (facts.patterns.get(service) ?? []).some(
    (p) => p.novelty !== 'chronic' && (p.lostContact || names(p.example)),
  );
}

/**
 * Another candidate, its own code unchanged, whose new warnings name one of its dependencies, and
 * every other one reports lost contact: it relays that dependency's trouble (weights.ts RELAY).
 * The dependency its lines are about, or null.
 */
export function relaysFor(facts: Facts, service: string): string | null {
  // Asked per candidate by logs.errors, logs.onset and every pack rule reading its lines.
  const memo = relayMemo.get(facts) ?? new Map<string, string | null>();
  relayMemo.set(facts, memo);
  if (!memo.has(service)) memo.set(service, findRelayed(facts, service));
  return memo.get(service)!;
}

const relayMemo = new WeakMap<Facts, Map<string, string | null>>();

function findRelayed(facts: Facts, service: string): string | null {
  if (service === facts.failing || editedOwnCode(facts, service) || !facts.graph.services.has(service))
    return null;
  const deps = new Set(
    facts.graph
      .candidates(service)
      .filter((c) => c.distance > 0 && facts.candidate.has(c.service))
      .map((c) => c.service),
  );
  if (!deps.size) return null;
  const fresh = (facts.patterns.get(service) ?? []).filter(
    (p) => p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.warn,
  );
  let about: string | null = null;
  for (const p of fresh) {
    const named = namesIn(p.example, mapNameIndex(facts.graph), NO_COMMON_NAMES).find((s) => deps.has(s));
    if (!named && !p.lostContact) return null;
    about ??= named ?? null;
  }
  // Lost contact naming nobody may be its own hardware (a meter's HTTP timeouts to its device):
  // only lines that name the dependency make it a relay.
  return about;
}

/** logs.errors: warn/error/fatal lines and events of each candidate in the window, new ones counting most. */
export const logErrors: RuleFamily = {
  id: 'logs.errors',
  run(facts) {
    const out: Finding[] = [];
    for (const [service, patterns] of facts.patterns) {
      let total = 0;
      const evidence: Evidence[] = [];
      for (const p of patterns) {
        const w = patternWeight(p);
        total += w;
        evidence.push({
          kind: 'log',
          text: `${clockTime(p.firstTs)} ${service} ${p.fromEvent ? 'event' : p.level}: ${p.example}${p.count > 1 ? ` (x${p.count})` : ''} [${p.novelty}${p.correlated ? ', same session' : ''}${p.about ? `, about ${p.about}` : ''}]`,
          weight: w,
          service,
          level: p.level,
          timestamp: p.firstTs,
          count: p.count,
          novelty: p.novelty,
          correlated: p.correlated,
        });
      }
      const reporter = reportsOnly(facts, service);
      const lostPeer = reportsPeer(facts, service);
      const relay = relaysFor(facts, service);
      const weight =
        Math.min(LOG_WEIGHT_CAP, total) *
        (reporter ? REPORTER : 1) *
        (lostPeer ? LOST_PEER_REPORTER : 1) *
        (relay ? RELAY : 1);
      const errors = patterns.filter((p) => levelRank[p.level] >= levelRank.error && p.novelty !== 'chronic');
      const n = errors.reduce((s, p) => s + p.count, 0);
      const first = errors[0] ?? patterns[0]!;
      const allChronic = patterns.every((p) => p.novelty === 'chronic');
      const reason = n
        ? `${n} new error${n > 1 ? 's' : ''} in the ${span(facts.T - first.firstTs)} before the ${facts.event.eventType}, first: "${first.example}"`
        : allChronic
          ? `only chronic messages (seen before the window at the usual rate): "${first.example}"`
          : `${patterns.reduce((s, p) => s + p.count, 0)} warning(s) in the window: "${first.example}"`;
      const said = lostPeer
        ? `${reason} (it reported the failure and lost or named a peer, so its own lines count a quarter)`
        : reporter
          ? `${reason} (it reported the failure, so its own lines count half)`
          : relay
            ? `${reason} (its new lines are about ${relay}, which it depends on: they count ${RELAY})`
            : reason;
      // Evidence weights add up to what the finding contributes after the cap.
      const k = total > 0 ? weight / total : 0;
      for (const e of evidence) e.weight *= k;
      evidence.sort((a, b) => b.weight - a.weight || cmp(String(a.text), String(b.text)));
      out.push({ ruleId: 'logs.errors', service, weight, reason: said, evidence: evidence.slice(0, 6) });
    }
    return out;
  },
};
