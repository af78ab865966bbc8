import { type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { createLogPatterns } from '../store/log-patterns.ts';

/** Log rows read per pattern-indexing step, and how long after a commit the background step runs. */
const PATTERN_SPAN = 20_000;
const PATTERN_INTERVAL_MS = 1000;
/**
 * The background steps read fewer rows each, and take more turns for the same rows per second:
 * under bulk warn ingest a 20,000-row step held the event loop for 90-150 ms on a loaded 2-core VM,
 * and every HTTP request (a trigger's too) waited behind it; a 4,000-row step is a fifth of that.
 */
const BACKGROUND_SPAN = 4_000;
const BACKGROUND_STEPS = (5 * PATTERN_SPAN) / BACKGROUND_SPAN;

export interface PatternIndexer {
  /**
   * Folds pending warn+ lines logged before `before` into the pattern counts, at most `maxSpans`
   * steps; true when it stopped at `maxSpans` with rows possibly still pending.
   */
  index(maxSpans: number, before?: number): boolean;
  /** Called after ingest commits: folds new lines into the baseline within a second. */
  soon(): void;
  stop(): void;
}

/**
 * Keeps the new-versus-chronic baseline current: in the background after ingest commits and,
 * bounded, before each analysis.
 */
export function createPatternIndexer(deps: {
  patterns: ReturnType<typeof createLogPatterns>;
  log: Logger;
  metrics: Metrics;
  scheduler?: Scheduler;
}): PatternIndexer {
  const { patterns, log, metrics } = deps;
  const scheduler = deps.scheduler ?? systemScheduler;
  const index = (maxSpans: number, before = Number.POSITIVE_INFINITY, span = PATTERN_SPAN): boolean => {
    let spans = 0;
    try {
      while (
        spans < maxSpans &&
        (patterns.firstPendingTs() ?? before) < before &&
        patterns.indexPending(span) > 0
      )
        spans++;
    } catch (err) {
      metrics.inc('tracepulse_analysis_errors_total', { stage: 'patterns' });
      log.error('pattern indexing failed', { error: String(err) });
    }
    return spans === maxSpans;
  };
  // Runs only after ingest commits, at most once a second: an idle gateway runs no JavaScript at all
  // (a fixed 1 s timer woke it forever and, a minute in, its code reached the optimising JIT, whose
  // compiler pages stayed resident: +2 MB idle RSS).
  let timer: Timer | null = null;
  let stopped = false;
  const soon = () => {
    if (timer || stopped) return;
    timer = scheduler.after(PATTERN_INTERVAL_MS, () => {
      timer = null;
      // Up to BACKGROUND_STEPS short spans, one per event-loop turn, so a queued trigger's analysis
      // and the HTTP requests run between them; a larger backlog keeps the next run coming.
      let left = BACKGROUND_STEPS;
      const step = () => {
        if (stopped || !index(1, Number.POSITIVE_INFINITY, BACKGROUND_SPAN)) return;
        if (--left > 0) setImmediate(step);
        else soon();
      };
      step();
    });
  };
  return {
    index,
    soon,
    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
    },
  };
}
