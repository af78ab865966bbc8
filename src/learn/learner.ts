import type { RankedSnapshot } from '../store/feedback-store.ts';
import { type ContextKey, multiplierBounds, type Adjustments } from './model.ts';

/** The engine's ranking of one trigger under given adjustments: services with confidences, best first. */
export type RankOracle = (
  adjustments: Adjustments | undefined,
) => ReadonlyArray<{ service: string; confidence: number }> | null;

/** One report with a known root cause. */
export interface Sample {
  context: ContextKey;
  rootService: string;
  /** The unadjusted ranking with each candidate's score split by rule id. */
  ranked: RankedSnapshot[];
  /** Ranks the trigger again under any adjustments (the real engine), when it can still be replayed. */
  rank?: RankOracle;
}

export interface LearnOptions {
  /** Step in log space per violated sample (0.1 ≈ 10 %). */
  rate?: number;
  epochs?: number;
  /** The true service must lead the runner-up by this factor. */
  margin?: number;
  /** Rounds of checking against the real engine (samples with `rank`). */
  refineRounds?: number;
}

const lo = Math.log(multiplierBounds.min);
const hi = Math.log(multiplierBounds.max);
const clamp = (v: number) => Math.min(hi, Math.max(lo, v));

/**
 * Learns per-service and per-rule multipliers for one context so that each sample's true service ranks
 * first, changing as little as it can (pure, given pure oracles).
 *
 * 1. A perceptron in log space over the rule split: for a sample ranked wrongly (or by less than the
 *    margin) the true service and the rules that favour it go up, the leading one and its rules down.
 * 2. Refinement against the engine itself: a service multiplier scales that service's score exactly,
 *    so the remaining gap of each sample is closed from the real ranking, within the bounds.
 *
 * Confirmed samples take part too, so a correction cannot silently undo what was confirmed before.
 * Every multiplier stays within multiplierBounds.
 */
export function learnContext(samples: Sample[], options: LearnOptions = {}): Adjustments {
  const { rate = 0.1, epochs = 40, margin = 1.05, refineRounds = 4 } = options;
  const svc = new Map<string, number>();
  const rule = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, d: number) => m.set(k, clamp((m.get(k) ?? 0) + d));
  const score = (h: RankedSnapshot) => {
    let s = 0;
    for (const [sig, w] of Object.entries(h.signals)) s += w * Math.exp(rule.get(sig) ?? 0);
    return s * Math.exp(svc.get(h.service) ?? 0);
  };
  const usable = samples.filter((s) => s.ranked.some((h) => h.service === s.rootService));
  for (let epoch = 0; epoch < epochs; epoch++) {
    let violated = 0;
    for (const s of usable) {
      const truth = s.ranked.find((h) => h.service === s.rootService)!;
      let rival: RankedSnapshot | null = null;
      for (const h of s.ranked)
        if (h.service !== truth.service && (!rival || score(h) > score(rival))) rival = h;
      if (!rival || score(truth) >= score(rival) * margin) continue;
      violated++;
      bump(svc, truth.service, rate);
      bump(svc, rival.service, -rate);
      const t = share(truth.signals);
      const r = share(rival.signals);
      for (const sig of new Set([...Object.keys(t), ...Object.keys(r)])) {
        const d = (t[sig] ?? 0) - (r[sig] ?? 0);
        // Only rules that clearly favour one side move, by half a step: services carry most of it.
        // "~kind" entries are evidence without a rule id (from a stored snapshot): no multiplier exists.
        if (Math.abs(d) > 0.2 && !sig.startsWith('~')) bump(rule, sig, Math.sign(d) * (rate / 2));
      }
    }
    if (!violated) break;
  }

  const oracles = samples.filter((s) => s.rank);
  for (let round = 0; round < refineRounds && oracles.length; round++) {
    const adj = toAdjustments(svc, rule);
    let moved = false;
    for (const s of oracles) {
      const ranked = s.rank!(adj);
      const truth = ranked?.find((h) => h.service === s.rootService);
      if (!ranked || !truth || truth.confidence <= 0) continue;
      const rival = ranked.find((h) => h.service !== s.rootService);
      if (!rival || truth.confidence >= rival.confidence * margin) continue;
      // Split the missing factor between raising the truth and lowering the rival.
      const half = Math.log((rival.confidence * margin) / truth.confidence) / 2;
      const before = [svc.get(truth.service) ?? 0, svc.get(rival.service) ?? 0];
      bump(svc, truth.service, half);
      bump(svc, rival.service, -half);
      if (svc.get(truth.service) !== before[0] || svc.get(rival.service) !== before[1]) moved = true;
    }
    if (!moved) break;
  }
  return toAdjustments(svc, rule);
}

/** Learns every context present in the samples. */
export function learn(samples: Sample[], options?: LearnOptions): Record<ContextKey, Adjustments> {
  const by = new Map<ContextKey, Sample[]>();
  for (const s of samples) by.set(s.context, [...(by.get(s.context) ?? []), s]);
  const out: Record<ContextKey, Adjustments> = {};
  for (const [k, list] of by) {
    const a = learnContext(list, options);
    if (a.rules || a.services) out[k] = a;
  }
  return out;
}

function toAdjustments(svc: Map<string, number>, rule: Map<string, number>): Adjustments {
  const out = (m: Map<string, number>) => {
    const o: Record<string, number> = {};
    for (const [k, v] of [...m].sort(([a], [b]) => a.localeCompare(b))) {
      const x = Math.round(Math.exp(v) * 100) / 100;
      if (x !== 1) o[k] = x;
    }
    return Object.keys(o).length ? o : undefined;
  };
  const adj: Adjustments = {};
  const services = out(svc);
  const rules = out(rule);
  if (services) adj.services = services;
  if (rules) adj.rules = rules;
  return adj;
}

function share(signals: Record<string, number>): Record<string, number> {
  const total = Object.values(signals).reduce((n, w) => n + Math.max(0, w), 0);
  const out: Record<string, number> = {};
  if (total <= 0) return out;
  for (const [k, w] of Object.entries(signals)) out[k] = Math.max(0, w) / total;
  return out;
}
