import { createMetrics } from '../../../src/core/metrics.ts';
import { createLogger } from '../../../src/core/logger.ts';
import type { Clock } from '../../../src/core/clock.ts';
import { openDatabase } from '../../../src/store/db.ts';
import { createFeedbackStore, type Verdict } from '../../../src/store/feedback-store.ts';
import { createLearnStore, type StoredModel } from '../../../src/store/learn-store.ts';
import { createLearning, snapshotOf } from '../../../src/learn/learning-service.ts';
import { adjustmentsFor, type LearntModel } from '../../../src/learn/model.ts';
import { rankReplay, type ReplayInput } from './learn-replay.ts';

export interface OfflineFeedback {
  case: ReplayInput;
  /** What the "engineer" says the root cause was (the label, or a lie in tests). */
  rootService: string;
}

/**
 * Runs the real learning service (stores, learner, gate) on replayed triggers instead of stored
 * ones: each feedback goes in the way the UI sends it, one after another, and the gate judges it on
 * the feedback given so far (the "station's" labelled reports). For the benchmark and tests.
 */
export async function learnOffline(options: {
  feedback: OfflineFeedback[];
  clock?: Clock;
  /** Skip the gate (to show what it prevents). */
  ungated?: boolean;
}): Promise<{ model: LearntModel; decisions: StoredModel[] }> {
  const db = openDatabase(':memory:');
  try {
    const feedback = createFeedbackStore(db);
    const store = createLearnStore(db);
    const byEvent = new Map(options.feedback.map((f) => [f.case.input.event.id, f.case]));
    let t = Date.UTC(2026, 10, 1);
    const clock = options.clock ?? { now: () => t++ };
    const learning = createLearning({
      feedback,
      store,
      rankStored: (eventId, adj) => {
        const c = byEvent.get(eventId);
        return c ? rankReplay(c, adj) : null;
      },
      clock,
      logger: createLogger({ level: 'error' }),
      metrics: createMetrics(),
      ungated: options.ungated,
    });
    for (const f of options.feedback) {
      const e = f.case.input.event;
      const ranked = rankReplay(f.case, learning.adjustmentsFor(e.eventType, e.errorCode));
      const verdict: Verdict = ranked[0]?.service === f.rootService ? 'confirmed' : 'rejected';
      const stored = feedback.add({
        reportId: `report-${e.id}`,
        eventId: e.id,
        eventType: e.eventType,
        errorCode: e.errorCode,
        verdict,
        rootService: f.rootService,
        changeId: null,
        note: null,
        ranked: snapshotOf(ranked),
        modelVersion: learning.current().version,
        author: 'bench',
        createdAt: clock.now(),
      });
      await learning.onFeedback(stored);
    }
    await learning.idle();
    return { model: learning.current(), decisions: store.list(10_000).reverse() };
  } finally {
    db.close();
  }
}

/** Top-1 accuracy of a learnt model on labelled replays. */
export function accuracy(
  model: Pick<LearntModel, 'contexts'>,
  cases: ReplayInput[],
): { correct: number; total: number } {
  let correct = 0;
  for (const c of cases) {
    const e = c.input.event;
    if (rankReplay(c, adjustmentsFor(model, e.eventType, e.errorCode))[0]?.service === c.expected) correct++;
  }
  return { correct, total: cases.length };
}
