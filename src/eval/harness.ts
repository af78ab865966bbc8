import { createFeedClient } from '../replay/client.ts';
import { replayRecords } from '../replay/replayer.ts';
import { type FeedTarget, remoteTarget, startLocalTarget } from '../replay/target.ts';
import { generateScenarios } from './generator.ts';
import { hashSeed } from './prng.ts';
import { type Outcome, scoreScenario, summarise } from './score.ts';
import { scenarioRecords } from './to-stream.ts';
import type { Scenario } from './types.ts';

const day = 86_400_000;

export interface EvalOptions {
  seed: number;
  count: number;
  /** Feed a running service instead of starting one in-process. */
  url?: string;
  apiKey?: string;
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
 * Generates scenarios and replays each through the real pipeline over HTTP, then scores them.
 * Scenarios are placed `slot` apart in the past, one after the other, so no scenario's changes or
 * logs fall inside another's change look-back or log window; each report is awaited before the
 * next scenario is fed. In-process, a fresh service (and data dir) serves each batch.
 */
export async function runEval(options: EvalOptions): Promise<EvalResult> {
  const started = performance.now();
  const scenarios = generateScenarios({ seed: options.seed, count: options.count });
  const env = options.env ?? process.env;
  const lookbackDays = Number(env.TRACEPULSE_CHANGE_LOOKBACK_DAYS ?? 7) || 7;
  // Look-back plus the latest "after the event" change (under a day) plus a margin.
  const slot = (lookbackDays + 3) * day;
  // Retention is 3650 days in-process; keep each batch well inside it.
  const batchSize = options.url
    ? scenarios.length
    : Math.max(1, Math.min(250, Math.floor((3500 * day) / slot) - 2));
  const outcomes: Outcome[] = [];
  for (let b = 0; b < scenarios.length; b += batchSize) {
    const batch = scenarios.slice(b, b + batchSize);
    const target: FeedTarget = options.url
      ? remoteTarget({ url: options.url, apiKey: options.apiKey })
      : await startLocalTarget({ env, ownMap: true });
    try {
      const client = createFeedClient(target);
      const anchor = Math.floor((Date.now() - (batch.length + 2) * slot) / day) * day;
      for (const [j, scenario] of batch.entries()) {
        const outcome = await runScenario(
          scenario,
          client,
          anchor + j * slot,
          options.reportTimeoutMs ?? 10_000,
        );
        outcomes.push(outcome);
        options.onOutcome?.(outcome, outcomes.length, scenarios.length);
      }
    } finally {
      await target.stop();
    }
  }
  return {
    seed: options.seed,
    count: scenarios.length,
    outcomes,
    summary: summarise(outcomes),
    wallSeconds: (performance.now() - started) / 1000,
  };
}

async function runScenario(
  scenario: Scenario,
  client: ReturnType<typeof createFeedClient>,
  slotStart: number,
  reportTimeoutMs: number,
): Promise<Outcome> {
  // A different hour of day per scenario; the trigger stays inside its slot.
  const eventTime = slotStart + (hashSeed(scenario.id) % (12 * 3_600_000)) + day;
  const { results } = await replayRecords(scenarioRecords(scenario, eventTime), client, { reportTimeoutMs });
  const r = results[0];
  if (!r)
    throw new Error(
      `scenario ${scenario.id}: the service did not treat ${scenario.event.eventType} as a trigger`,
    );
  return scoreScenario(scenario, r.report, r.wallMs);
}
