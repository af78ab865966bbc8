import { type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import {
  type LogQuery,
  type LogSource,
  type RemoteLogLine,
  relevant,
  SourceError,
  type SourceOutcome,
} from '../core/log-source.ts';

/**
 * Asks every source in parallel, each bounded by `deadlineMs`; a slow, failing or garbled source
 * costs at most the deadline and yields no lines, and its outcome says why.
 */
export async function queryLogSources(
  sources: readonly LogSource[],
  q: Omit<LogQuery, 'signal'>,
  deadlineMs: number,
  scheduler: Scheduler = systemScheduler,
): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[] }> {
  const results = await Promise.all(
    sources.map(async (s): Promise<{ lines: RemoteLogLine[]; outcome: SourceOutcome }> => {
      const ctrl = new AbortController();
      let timer: Timer | undefined;
      // The race, not only the abort, bounds the wait: a source must not hold the trigger past its deadline.
      const late = new Promise<never>((_, reject) => {
        timer = scheduler.after(deadlineMs, () => {
          ctrl.abort();
          reject(new SourceError('timeout', 'no answer before the deadline'));
        });
      });
      try {
        const lines = relevant(await Promise.race([s.query({ ...q, signal: ctrl.signal }), late]), q);
        return { lines, outcome: { source: s.name, ok: true, lines: lines.length } };
      } catch (err) {
        const error = err instanceof SourceError ? err.label : 'bad_answer';
        return { lines: [], outcome: { source: s.name, ok: false, lines: 0, error } };
      } finally {
        timer?.cancel();
        ctrl.abort();
      }
    }),
  );
  return { lines: results.flatMap((r) => r.lines), outcomes: results.map((r) => r.outcome) };
}
