import { createFeedClient } from '../../../src/replay/client.ts';
import { replayRecords } from '../../../src/replay/replayer.ts';
import { type Outcome, scoreTrigger, summarise } from '../../../src/replay/score.ts';
import type { StreamRecord } from '../../../src/replay/stream.ts';
import { startLocalTarget } from '../../../src/cli/local-target.ts';
import { generateScenarios } from './generator.ts';
import { hashSeed } from './prng.ts';
import { type RobustnessOptions, robustScenarios } from './robust.ts';
import { scenarioRecords } from './to-stream.ts';

const day = 86_400_000;

export interface StreamOptions {
  seed: number;
  count: number;
  /** The change look-back of the service that will score the streams (TRACEPULSE_CHANGE_LOOKBACK_DAYS). */
  lookbackDays?: number;
  /** Scenarios per stream; each stream is scored by a fresh service. Default: as many as fit (at most 250). */
  batchSize?: number;
  /** The robustness run: other decoy wording, skewed clocks, a missing edge in about a third of the maps. */
  robust?: boolean | RobustnessOptions;
  /** "Now" for the layout in time (default Date.now()); the streams end before it. */
  now?: number;
}

/** One replay stream: a batch of labelled scenarios laid out one after another in the past. */
export interface ScenarioStream {
  name: string;
  records: StreamRecord[];
}

/**
 * Generates scenarios and lays them out as labelled replay streams (map, label, changes, logs, event
 * per scenario). Scenarios are placed `slot` apart in the past, so no scenario's changes or logs fall
 * inside another's change look-back or log window; `tracepulse eval` scores each stream with a fresh
 * service (retention 3650 days there, so a batch stays well inside it).
 */
export function scenarioStreams(options: StreamOptions): ScenarioStream[] {
  const generated = generateScenarios({ seed: options.seed, count: options.count });
  const robust = options.robust === true ? {} : options.robust || null;
  const scenarios = robust ? robustScenarios(generated, options.seed, robust) : generated;
  // Look-back plus the latest "after the event" change (under a day) plus a margin.
  const slot = ((options.lookbackDays ?? 7) + 3) * day;
  const fit = Math.max(1, Math.min(250, Math.floor((3500 * day) / slot) - 2));
  const batchSize = Math.max(1, Math.min(options.batchSize ?? fit, fit));
  const now = options.now ?? Date.now();
  const streams: ScenarioStream[] = [];
  for (let b = 0; b < scenarios.length; b += batchSize) {
    const batch = scenarios.slice(b, b + batchSize);
    const anchor = Math.floor((now - (batch.length + 2) * slot) / day) * day;
    const records = batch.flatMap((s, j) =>
      // A different hour of day per scenario; the trigger stays inside its slot.
      scenarioRecords(s, anchor + j * slot + (hashSeed(s.id) % (12 * 3_600_000)) + day),
    );
    const last = Math.min(b + batchSize, scenarios.length);
    streams.push({
      name: `seed${options.seed}${robust ? '-robust' : ''}${robust?.silentRoots ? '-silent' : ''}-${String(b + 1).padStart(4, '0')}-${String(last).padStart(4, '0')}`,
      records: records.map((r, i) => ({ ...r, line: i + 1 })),
    });
  }
  return streams;
}

export interface EvalOptions extends StreamOptions {
  /** Environment for the in-process service (rules file, look-back...); default process.env. */
  env?: Record<string, string | undefined>;
  reportTimeoutMs?: number;
  /** Called after each scenario is scored. */
  onOutcome?: (outcome: Outcome, done: number, total: number) => void;
}

export interface EvalResult {
  seed: number;
  count: number;
  outcomes: Outcome[];
  summary: ReturnType<typeof summarise>;
  wallSeconds: number;
}

/**
 * The in-process form of "write the streams, then `tracepulse eval` them": every stream is replayed
 * through the real pipeline over HTTP into a fresh service and every labelled trigger is scored with
 * the product's own scoring (src/replay/score.ts).
 */
export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const lookbackDays = options.lookbackDays ?? (Number(env.TRACEPULSE_CHANGE_LOOKBACK_DAYS ?? 7) || 7);
  const streams = scenarioStreams({ ...options, lookbackDays });
  const outcomes: Outcome[] = [];
  for (const stream of streams) {
    const target = await startLocalTarget({ env, ownMap: true });
    try {
      const { results } = await replayRecords(stream.records, createFeedClient(target), {
        reportTimeoutMs: options.reportTimeoutMs ?? 10_000,
      });
      const labels = stream.records.filter((r) => r.type === 'label').length;
      if (results.length !== labels)
        throw new Error(`${stream.name}: ${labels} labelled scenarios but ${results.length} triggers`);
      for (const r of results) {
        const o = scoreTrigger(stream.name, r);
        if (!o) throw new Error(`${stream.name}:${r.line}: a trigger without its label`);
        outcomes.push(o);
        options.onOutcome?.(o, outcomes.length, options.count);
      }
    } finally {
      await target.stop();
    }
  }
  return {
    seed: options.seed,
    count: outcomes.length,
    outcomes,
    summary: summarise(outcomes),
    wallSeconds: (performance.now() - started) / 1000,
  };
}
