import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Hypothesis } from '../core/report.ts';
import type { Feedback, FeedbackStore, RankedSnapshot } from '../store/feedback-store.ts';
import type { LearnStore, StoredModel } from '../store/learn-store.ts';
import { signals } from '../ui/answer/why-answer.ts';
import { type LabelledCase, runGate } from './gate.ts';
import { learnContext, type Sample } from './learner.ts';
import {
  adjustmentsFor,
  baseModel,
  canonical,
  changedContexts,
  codeKey,
  type ContextKey,
  contextKey,
  isEmptyAdjustments,
  type LearntModel,
  type RankingAdjustments,
} from './model.ts';
import { type ReplayInput, replayCase } from './replay.ts';

/** Ranks a stored trigger again under given adjustments without storing (ctx.analysis.analyzeStored); null when gone. */
export type StoredRanker = (
  eventId: string,
  adjustments: RankingAdjustments | undefined,
) => Hypothesis[] | null;

export interface Learning {
  readonly enabled: boolean;
  /** The learnt model in force (adj-0 when nothing was learnt or accepted). */
  current(): LearntModel;
  adjustmentsFor(eventType: string, errorCode: string): RankingAdjustments | undefined;
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
 * Learning from feedback: each new word on a report re-learns the multipliers of its context
 * (event type/error code) from all feedback in that context, then the gate replays the reports with
 * feedback and the built-in labelled scenarios; only a candidate that lowers neither accuracy takes effect.
 */
export function createLearning(options: {
  feedback: FeedbackStore;
  store: LearnStore;
  rankStored: StoredRanker;
  /** The built-in labelled scenarios (built on first use, then cached). */
  scenarios: () => ReplayInput[] | Promise<ReplayInput[]>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  enabled?: boolean;
  /** Accept every candidate without replaying (benchmarks and tests only: shows what the gate prevents). */
  ungated?: boolean;
}): Learning {
  const { feedback, store, rankStored, clock, logger, metrics } = options;
  let active: LearntModel = store.active() ?? baseModel;
  let scenarioCases: LabelledCase[] | null = null;
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
      ...(raw ? { rank: (adj: RankingAdjustments | undefined) => rankStored(f.eventId, adj) } : {}),
    };
  };
  const feedbackCase = (f: Feedback): LabelledCase => {
    const memo = new Map<string, string | null>();
    return {
      id: `report:${f.reportId}`,
      source: 'feedback',
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

  /** Ranks every case under the model in force, a few per event-loop turn (the gate then reuses them). */
  const prewarm = async (cases: LabelledCase[]) => {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      c.top(adjustmentsFor(active, c.eventType, c.errorCode));
      if (i % 8 === 7) await Bun.sleep(0);
    }
  };

  /** Re-learns the contexts a feedback on (eventType, errorCode) touches: its own and its error code's. */
  const relearn = async (eventType: string, errorCode: string): Promise<StoredModel | null> => {
    const all = feedback.latestPerReport();
    const exact = contextKey(eventType, errorCode);
    const code = codeKey(errorCode);
    const contexts = { ...active.contexts };
    const samples = new Map<number, Sample>();
    const sample = (f: Feedback) => {
      let s = samples.get(f.id);
      if (!s) {
        s = sampleOf(f);
        samples.set(f.id, s);
      }
      return s;
    };
    const put = (key: ContextKey, list: Feedback[]) => {
      const learnt = learnContext(list.map(sample));
      if (isEmptyAdjustments(learnt)) delete contexts[key];
      else contexts[key] = learnt;
    };
    const sameCode = all.filter((f) => f.errorCode === errorCode);
    put(
      exact,
      sameCode.filter((f) => f.eventType === eventType),
    );
    put(code, sameCode);
    const context = `${exact} and ${code}`;
    if (changedContexts(active.contexts, contexts).length === 0) return null;
    scenarioCases ??= options.ungated ? [] : (await options.scenarios()).map(replayCase);
    const started = performance.now();
    const cases = options.ungated ? [] : [...all.map(feedbackCase), ...scenarioCases];
    await prewarm(cases);
    const gated = runGate(cases, active, {
      version: 'candidate',
      contexts,
    });
    const result = options.ungated ? { ...gated, accepted: true, reason: 'ungated' } : gated;
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
        } finally {
          // Feedback is rare: between runs the scenarios are not kept (tens of MB on a gateway).
          if (!pending.size) scenarioCases = null;
        }
      });
      queue = run;
      return run;
    },
    history: (limit) => store.list(limit),
    idle: () => queue.then(() => undefined),
  };
}
