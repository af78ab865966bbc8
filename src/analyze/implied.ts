import { levelRank } from '../core/log-line.ts';
import type { SystemGraph } from '../map/graph.ts';
import { impliedEdges } from '../map/implied-edges.ts';
import type { EvidenceBundle } from './evidence.ts';
import type { OutsideCandidate } from './outside.ts';
import { baselineKey, seenInBaseline } from './novelty.ts';
import { messagePattern } from './text.ts';
import { changeBase, recency } from './changes.ts';
import { CLOCK_SKEW_MS, CREDIBLE } from './weights.ts';

/**
 * Outside candidates EVerest's manifests imply (map/implied-edges.ts): a module on the failure's
 * path requires an interface that a service outside the closure provides (Auth needs a token
 * provider; the map left the reader out). The requirer must be on the failure's path itself (the
 * failing service, or one with a new anomaly of its own: a quiet connector's unwired ISO 15118 stack
 * is not this failure's), and only a provider whose new anomaly came no later than the requirer's,
 * that went quiet, or that changed recently (a lowered OCPP ConnectionTimeOut says nothing in the
 * logs) is a suspect: the edge would have put it on the failure's trail or under its change.
 */
export function impliedCandidates(input: {
  graph: SystemGraph;
  evidence: EvidenceBundle;
  failing: string;
  closure: ReadonlySet<string>;
  windowStart: number;
  T: number;
}): OutsideCandidate[] {
  const { graph, evidence, failing, closure, T } = input;
  const implied = impliedEdges(graph);
  if (![failing, ...closure].some((s) => implied.has(s))) return [];
  const first = firstNewAnomaly(evidence, graph, input.windowStart, T);
  // A device that stopped talking is an anomaly too, begun before the window.
  for (const q of evidence.wentQuiet ?? []) {
    const s = graph.resolve(q);
    if (s && !first.has(s)) first.set(s, input.windowStart);
  }
  const requirers = [failing, ...[...closure].filter((s) => s !== failing && first.has(s))];
  const changed = recentlyChanged(graph, evidence, T);
  const out: OutsideCandidate[] = [];
  for (const requirer of requirers)
    for (const e of implied.get(requirer) ?? []) {
      const t = first.get(e.dependsOn);
      const own = requirer === failing ? T : (first.get(requirer) ?? T);
      const began = t !== undefined && t <= own + CLOCK_SKEW_MS;
      if (!began && (e.weak || !changed.has(e.dependsOn))) continue;
      if (e.weak && !first.has(e.dependsOn)) continue;
      out.push({
        service: e.dependsOn,
        why: `${requirer} runs ${e.module}, which requires a ${e.interface}, and ${e.dependsOn} (${e.providerModule}) provides one (everest-core manifests); ${began ? 'its anomalies began first or it went quiet' : 'it changed recently'}`,
        suggest: { service: requirer, dependsOn: e.dependsOn },
        // An edge the architecture only allows (a shared optional provider) is no sign that the
        // failure passed through it: the provider does not join the trail directly.
        viaPath: e.weak,
        mapped: true,
        implied: true,
      });
    }
  return out;
}

/** Map services with a change record recent enough to be blamed on its own (credibility >= CREDIBLE). */
function recentlyChanged(graph: SystemGraph, evidence: EvidenceBundle, T: number): Set<string> {
  const out = new Set<string>();
  for (const c of evidence.changes)
    if (c.timestamp <= T && recency(T - c.timestamp) >= CREDIBLE)
      for (const s of changeBase(c, graph).mapped) out.add(s);
  return out;
}

/** Per map service, its first warning or error in the window of a pattern its baseline never had. */
function firstNewAnomaly(
  evidence: EvidenceBundle,
  graph: SystemGraph,
  windowStart: number,
  T: number,
): Map<string, number> {
  const seen = seenInBaseline(evidence.history, graph);
  const out = new Map<string, number>();
  for (const l of evidence.logs) {
    if (l.ts < windowStart || l.ts > T || levelRank[l.level] < levelRank.warn) continue;
    const s = graph.resolve(l.service);
    if (!s || (out.get(s) ?? Number.POSITIVE_INFINITY) <= l.ts) continue;
    if (!seen.has(baselineKey(s, messagePattern(l.message)))) out.set(s, l.ts);
  }
  return out;
}
