import type { RankedSnapshot } from '../store/feedback-store.ts';
import { type ContextKey, multiplierBounds, type RankingAdjustments } from './model.ts';

/** One report with a known root cause, ranked without any learnt adjustment. */
export interface Sample {
  context: ContextKey;
  rootService: string;
  ranked: RankedSnapshot[];
}

export interface LearnOptions {
  /** Step in log space per violated sample (0.1 ≈ 10 %). */
  rate?: number;
  epochs?: number;
  /** The true service must lead the runner-up by this factor. */
  margin?: number;
}

/**
 * Learns per-service and per-rule multipliers for one context so that each sample's true service ranks
 * first, changing as little as it can (pure). A perceptron in log space: for every sample ranked wrongly
 * (or by less than the margin), the true service and the signals only it has go up, the wrongly leading
 * service and the signals only it has go down; every multiplier stays within multiplierBounds. Confirmed
 * samples take part too, so a correction cannot silently undo what was confirmed before.
 */
export function learnContext(samples: Sample[], options: LearnOptions = {}): RankingAdjustments {
  const { rate = 0.1, epochs = 40, margin = 1.05 } = options;
  const lo = Math.log(multiplierBounds.min);
  const hi = Math.log(multiplierBounds.max);
  const svc = new Map<string, number>();
  const rule = new Map<string, number>();
  const clamp = (v: number) => Math.min(hi, Math.max(lo, v));
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
        // Only signals that clearly favour one side move, and by half a step: services carry most of it.
        if (Math.abs(d) > 0.2 && !sig.startsWith('~')) bump(rule, sig, Math.sign(d) * (rate / 2));
      }
    }
    if (!violated) break;
  }
  const out = (m: Map<string, number>) => {
    const o: Record<string, number> = {};
    for (const [k, v] of [...m].sort(([a], [b]) => a.localeCompare(b))) {
      const x = Math.round(Math.exp(v) * 100) / 100;
      if (x !== 1) o[k] = x;
    }
    return Object.keys(o).length ? o : undefined;
  };
  const adj: RankingAdjustments = {};
  const services = out(svc);
  const rules = out(rule);
  if (services) adj.services = services;
  if (rules) adj.rules = rules;
  return adj;
}

/** Learns every context present in the samples. */
export function learn(samples: Sample[], options?: LearnOptions): Record<ContextKey, RankingAdjustments> {
  const by = new Map<ContextKey, Sample[]>();
  for (const s of samples) by.set(s.context, [...(by.get(s.context) ?? []), s]);
  const out: Record<ContextKey, RankingAdjustments> = {};
  for (const [k, list] of by) {
    const a = learnContext(list, options);
    if (a.rules || a.services) out[k] = a;
  }
  return out;
}

function share(signals: Record<string, number>): Record<string, number> {
  const total = Object.values(signals).reduce((n, w) => n + Math.max(0, w), 0);
  const out: Record<string, number> = {};
  if (total <= 0) return out;
  for (const [k, w] of Object.entries(signals)) out[k] = Math.max(0, w) / total;
  return out;
}
