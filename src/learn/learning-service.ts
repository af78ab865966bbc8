import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Hypothesis } from '../core/report.ts';
import type { Feedback, FeedbackStore, RankedSnapshot } from '../store/feedback-store.ts';
import type { LearnStore, StoredModel } from '../store/learn-store.ts';
import { signals } from '../core/signals.ts';
import { hasAdjustments } from '../core/learnt-model.ts';
import { type LabelledReport, runGate } from './gate.ts';
import { learnContext, type Sample } from './learner.ts';
import {
  adjustmentsFor,
  baseModel,
  canonical,
  changedContexts,
  codeKey,
  type ContextKey,
  contextKey,
  type LearntModel,
  type Adjustments,
} from './model.ts';

/** Ranks a stored trigger again under given adjustments without storing (ctx.analysis.analyzeStored); null when gone. */
export type StoredRanker = (eventId: string, adjustments: Adjustments | undefined) => Hypothesis[] | null;

export interface Learning {
  readonly enabled: boolean;
  /** The learnt model in force (adj-0 when nothing was learnt or accepted). */
  current(): LearntModel;
  adjustmentsFor(eventType: string, errorCode: string): Adjustments | undefined;
  /** Re-learns the feedback's context and gates it; resolves with the stored decision, or null when nothing changed. */
  onFeedback(f: Feedback): Promise<StoredModel | null>;
  history(limit?: number): StoredModel[];
  /** Resolves when every queued learning run has finished (tests, shutdown). */
  idle(): Promise<void>;
}

/**
 * A report's hypotheses as a learner sample, for when the trigger can no longer be replayed. Evidence
 * without a rule id is kept under "~kind", which the learner never turns into a rule multiplier.
 */
export const snapshotOf = (
  hs: Pick<Hypothesis, 'service' | 'rank' | 'confidence' | 'evidence'>[],
): RankedSnapshot[] =>
  hs.map((h) => ({
    service: h.service,
    rank: h.rank,
    confidence: h.confidence,
    signals: Object.fromEntries(
      signals(h as Hypothesis).map((s) => [s.items[0]?.ruleId ? s.signal : `~${s.signal}`, s.weight]),
    ),
  }));

/**
 * At most this many of the newest labelled reports of an error code are judged per run: each costs
 * one learner run (its held-out model), which re-ranks the context's stored triggers a few times.
 */
const GATE_MAX_REPORTS = 25;

/**
 * Learning from feedback: each new word on a report re-learns the multipliers of its context
 * (event type/error code) from all feedback in that context, then the gate judges the candidate on the
 * station's own labelled reports, leave-one-out (gate.ts); only a candidate that does not lower their
 * accuracy takes effect.
 */
export function createLearning(options: {
  feedback: FeedbackStore;
  store: LearnStore;
  rankStored: StoredRanker;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  enabled?: boolean;
  /** Accept every candidate without judging it (benchmarks and tests only: shows what the gate prevents). */
  ungated?: boolean;
}): Learning {
  const { feedback, store, rankStored, clock, logger, metrics } = options;
  let active: LearntModel = store.active() ?? baseModel;
  let queue: Promise<unknown> = Promise.resolve();
  const pending = new Set<ContextKey>();

  // The engine's own view of the trigger now (no learnt adjustment), so each run starts afresh; when
  // the event is gone, the snapshot taken when the feedback was given stands in.
  const sampleOf = (f: Feedback): Sample => {
    const raw = rankStored(f.eventId, undefined);
    return {
      context: contextKey(f.eventType, f.errorCode),
      rootService: f.rootService,
      ranked: raw ? snapshotOf(raw) : f.ranked,
      ...(raw ? { rank: (adj: Adjustments | undefined) => rankStored(f.eventId, adj) } : {}),
    };
  };
  const labelled = (f: Feedback): LabelledReport => {
    const memo = new Map<string, string | null>();
    return {
      id: `report:${f.reportId}`,
      eventType: f.eventType,
      errorCode: f.errorCode,
      expected: f.rootService,
      top: (adj) => {
        const key = canonical(adj);
        let top = memo.get(key);
        if (top === undefined) {
          top = rankStored(f.eventId, adj)?.[0]?.service ?? null;
          memo.set(key, top);
        }
        return top;
      },
    };
  };

  /**
   * The model in force with the contexts of (eventType, errorCode) learnt from a list of feedback:
   * its own context and its error code's. Each feedback is sampled once per run, however many lists
   * it is in.
   */
  const contextLearner = (eventType: string, errorCode: string) => {
    const samples = new Map<number, Sample>();
    const sample = (f: Feedback) => {
      let s = samples.get(f.id);
      if (!s) {
        s = sampleOf(f);
        samples.set(f.id, s);
      }
      return s;
    };
    return (list: Feedback[]): LearntModel['contexts'] => {
      const contexts = { ...active.contexts };
      const put = (key: ContextKey, from: Feedback[]) => {
        const a = learnContext(from.map(sample));
        if (!hasAdjustments(a)) delete contexts[key];
        else contexts[key] = a;
      };
      put(
        contextKey(eventType, errorCode),
        list.filter((f) => f.eventType === eventType),
      );
      put(codeKey(errorCode), list);
      return contexts;
    };
  };

  /** The gate's verdict on the learnt contexts, judged on the newest labelled reports of the error code. */
  const judge = async (
    sameCode: Feedback[],
    contexts: LearntModel['contexts'],
    learnt: (list: Feedback[]) => LearntModel['contexts'],
  ) => {
    const judged = [...sameCode].sort((a, b) => b.createdAt - a.createdAt).slice(0, GATE_MAX_REPORTS);
    const reports = options.ungated ? [] : judged.map(labelled);
    // Each report's held-out model is learnt in its own event-loop turn: a run never holds up ingest
    // for longer than one learner run (the same as learning the candidate itself).
    const heldOut = new Map<LabelledReport, LearntModel>();
    for (const [i, r] of reports.entries()) {
      const f = judged[i];
      heldOut.set(r, { version: 'held-out', contexts: learnt(sameCode.filter((x) => x !== f)) });
      await Bun.sleep(0);
    }
    const candidate = { version: 'candidate', contexts };
    const gated = runGate(reports, active, candidate, (r) => heldOut.get(r) ?? candidate);
    return options.ungated ? { ...gated, accepted: true, reason: 'ungated' } : gated;
  };

  /** Re-learns the contexts a feedback on (eventType, errorCode) touches, gates them and records the decision. */
  const relearn = async (eventType: string, errorCode: string): Promise<StoredModel | null> => {
    const all = feedback.latestPerReport();
    const sameCode = all.filter((f) => f.errorCode === errorCode);
    const learnt = contextLearner(eventType, errorCode);
    const contexts = learnt(sameCode);
    const context = `${contextKey(eventType, errorCode)} and ${codeKey(errorCode)}`;
    if (changedContexts(active.contexts, contexts).length === 0) {
      metrics.inc('tracepulse_learn_gate_total', { outcome: 'unchanged' });
      logger.info('feedback recorded; nothing to learn from it', {
        context,
        reason: 'the named root causes are not among the candidates, or the ranking already agrees',
      });
      return null;
    }
    const started = performance.now();
    const result = await judge(sameCode, contexts, learnt);
    const stored = store.record({
      status: result.accepted ? 'active' : 'refused',
      contexts,
      figures: result.figures,
      feedbackCount: all.length,
      reason: result.reason,
      createdAt: clock.now(),
    });
    if (result.accepted) active = { version: stored.version, contexts };
    metrics.inc('tracepulse_learn_gate_total', { outcome: result.accepted ? 'accepted' : 'refused' });
    logger.info(result.accepted ? 'learnt adjustments accepted' : 'learnt adjustments refused by the gate', {
      version: stored.version,
      context,
      reason: result.reason,
      gateMs: Math.round(performance.now() - started),
    });
    return stored;
  };

  return {
    enabled: options.enabled !== false,
    current: () => active,
    adjustmentsFor: (eventType, errorCode) => adjustmentsFor(active, eventType, errorCode),
    onFeedback(f) {
      const context = contextKey(f.eventType, f.errorCode);
      if (options.enabled === false) return Promise.resolve(null);
      // Runs are serialised; a context already waiting needs no second run (it reads all feedback).
      if (pending.has(context)) return queue.then(() => null);
      pending.add(context);
      const run = queue.then(async () => {
        await Bun.sleep(0); // leave the request that gave the feedback to finish first
        pending.delete(context);
        try {
          return await relearn(f.eventType, f.errorCode);
        } catch (err) {
          metrics.inc('tracepulse_learn_gate_total', { outcome: 'failed' });
          logger.error('learning run failed', { context, error: String(err) });
          return null;
        }
      });
      queue = run;
      return run;
    },
    history: (limit) => store.list(limit),
    idle: () => queue.then(() => undefined),
  };
}
