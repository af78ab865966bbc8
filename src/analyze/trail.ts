import type { Candidate, SystemGraph } from '../map/graph.ts';
import type { PatternFact } from './facts.ts';
import type { OutsideCandidate } from './outside.ts';
import { CLOCK_SKEW_MS } from './weights.ts';

/**
 * The trail of a failure: starting at the failing service, follow direct dependencies whose first
 * anomaly (new warning or error) came no later than that of the service that depends on them.
 * A failure propagates along dependencies, so its visible trail leads back to where it started;
 * an anomaly off the trail (a one-off error in a service nothing erroring depends on) is not part of it.
 * A candidate with an anomaly on the failing session itself (same correlationId) joins the trail
 * directly: the session links it to the failure even when the services in between stay silent.
 */
export interface Trail {
  /** Each trail service (not the failing one) and the trail service whose anomaly it precedes. */
  parent: Map<string, string>;
}

export function followTrail(input: {
  graph: SystemGraph;
  failing: string;
  candidates: ReadonlySet<string>;
  /** First anomaly per candidate; the failing service's is its first anomaly or the trigger. */
  onset: ReadonlyMap<string, number>;
  /** Candidates with a non-chronic warn+ line on the failing session. */
  correlated: ReadonlySet<string>;
  /** Edges the map lacks but the evidence suggests (from -> to), followed like depends_on. */
  extraEdges?: ReadonlyMap<string, readonly string[]>;
  /** Clock skew tolerated between sources: an anomaly this much later still counts as first. */
  skewMs?: number;
}): Trail {
  const { graph, failing, onset } = input;
  const parent = new Map<string, string>();
  const queue: string[] = [failing];
  const visit = (dep: string, from: string) => {
    if (dep === failing || parent.has(dep) || !input.candidates.has(dep)) return;
    const t = onset.get(dep);
    const own = onset.get(from);
    if (t === undefined || own === undefined || t > own + (input.skewMs ?? 0)) return;
    parent.set(dep, from);
    queue.push(dep);
  };
  for (const c of [...input.correlated].sort()) visit(c, failing);
  // BFS over direct dependencies; the visited map makes it terminate on cycles.
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i]!;
    for (const dep of [
      ...(graph.services.get(from)?.dependsOn ?? []),
      ...(input.extraEdges?.get(from) ?? []),
    ].sort())
      visit(dep, from);
  }
  return { parent };
}

/**
 * The trail of this failure from the facts: candidates with a non-chronic warning on the failing
 * session join it directly, and outside candidates join as if the missing edge were there (from
 * the failing service, or behind the service whose evidence names them).
 */
export function trailOf(input: {
  graph: SystemGraph;
  failing: string;
  candidate: ReadonlyMap<string, Candidate>;
  outside: ReadonlyMap<string, OutsideCandidate>;
  patterns: ReadonlyMap<string, readonly PatternFact[]>;
  onset: ReadonlyMap<string, number>;
}): Trail {
  const { graph, failing, candidate, outside, patterns, onset } = input;
  const correlated = new Set<string>();
  for (const [service, list] of patterns)
    if (service !== failing && list.some((p) => p.correlated && p.novelty !== 'chronic'))
      correlated.add(service);
  // Outside candidates join the trail from the failing service, as if the missing edge were there.
  // (from the service whose evidence names them, or from the failing service).
  const extraEdges = new Map<string, string[]>();
  for (const o of outside.values()) {
    if (o.viaPath) continue;
    if (o.suggest.service === failing) correlated.add(o.service);
    else {
      // It joins behind the service that names it, so that service reads as its symptom.
      if (candidate.has(o.suggest.service) && onset.has(o.suggest.service)) correlated.delete(o.service);
      extraEdges.set(o.suggest.service, [...(extraEdges.get(o.suggest.service) ?? []), o.service]);
    }
  }
  return followTrail({
    graph,
    failing,
    candidates: new Set(candidate.keys()),
    onset,
    correlated,
    extraEdges,
    skewMs: CLOCK_SKEW_MS,
  });
}
