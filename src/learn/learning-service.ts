import type { AnalyzeInput } from '../analyze/engine.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Hypothesis } from '../core/report.ts';
import type { Feedback, FeedbackStore, RankedSnapshot } from '../store/feedback-store.ts';
import type { LearnStore, StoredModel } from '../store/learn-store.ts';
import { signals } from '../ui/answer/why-answer.ts';
import { type LabelledCase, runGate } from './gate.ts';
import { scoreBreakdown } from './breakdown.ts';
import { learnContext, type Sample } from './learner.ts';
import {
  adjustmentsFor,
  baseModel,
  type ContextKey,
  contextKey,
  isEmptyAdjustments,
  type LearntModel,
  type RankingAdjustments,
  sameAdjustments,
} from './model.ts';
import { type ReplayInput, replayCase } from './replay.ts';

/** The analysis input of a stored trigger (evidence gathered from the store as it is now); null when gone. */
export type StoredInput = (eventId: string) => AnalyzeInput | null;

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
  inputFor: StoredInput;
  /** The built-in labelled scenarios (built on first use, then cached). */
  scenarios: () => ReplayInput[];
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  enabled?: boolean;
}): Learning {
  const { feedback, store, inputFor, clock, logger, metrics } = options;
  let active: LearntModel = store.active() ?? baseModel;
  let scenarioCases: LabelledCase[] | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const pending = new Set<ContextKey>();

  // The ranking without any learnt adjustment, split by rule, so each run learns from the engine's own view;
  // when the event is gone, the snapshot taken when the feedback was given stands in.
  const sampleOf = (f: Feedback, input: AnalyzeInput | null): Sample => ({
    context: contextKey(f.eventType, f.errorCode),
    rootService: f.rootService,
    ranked: input ? scoreBreakdown(input) : f.ranked,
  });
  const feedbackCase = (f: Feedback, input: AnalyzeInput): LabelledCase =>
    replayCase({ id: `report:${f.reportId}`, source: 'feedback', expected: f.rootService, input });

  const relearn = (context: ContextKey): StoredModel | null => {
    const all = feedback.latestPerReport();
    const inContext = all.filter((f) => contextKey(f.eventType, f.errorCode) === context);
    const inputs = new Map(all.map((f) => [f.id, inputFor(f.eventId)]));
    const learnt = learnContext(inContext.map((f) => sampleOf(f, inputs.get(f.id) ?? null)));
    const contexts = { ...active.contexts };
    if (isEmptyAdjustments(learnt)) delete contexts[context];
    else contexts[context] = learnt;
    if (sameAdjustments(active.contexts[context], contexts[context])) return null;
    scenarioCases ??= options.scenarios().map(replayCase);
    const started = performance.now();
    const replayed = all.flatMap((f) => {
      const input = inputs.get(f.id);
      return input ? [feedbackCase(f, input)] : [];
    });
    const result = runGate([...replayed, ...scenarioCases], active, { version: 'candidate', contexts });
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
          return relearn(context);
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
