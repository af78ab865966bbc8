import type { SystemGraph } from '../map/graph.ts';
import type { PatternHistory } from './evidence.ts';
import type { Novelty } from './facts.ts';
import { CASCADE_MS, EPISODE_MS, RATE_MIN_COUNT, SPIKE_P } from './weights.ts';

/**
 * new: never seen in the baseline; spiking: seen, but now far above its own rate (a Poisson test);
 * chronic: business as usual.
 */
export function classify(
  history: Map<string, PatternHistory>,
  key: string,
  countInWindow: number,
  windowMs: number,
  windowStart: number,
  baselineMs: number,
): Novelty {
  const h = history.get(key);
  if (!h || h.count === 0) return 'new';
  // A pattern that first appeared just before the window is part of the episode still going on
  // (an earlier trigger of the same incident), not business as usual.
  if (!h.sampled && h.firstTs >= windowStart - CASCADE_MS) return 'new';
  // So is one with a known beginning (its absence before was no chance, PatternHistory.began) within
  // the hour before the window: an authorization decode error every few minutes since a deploy 40
  // minutes ago is that failure, not the station's routine.
  if (h.began !== undefined && h.began >= windowStart - EPISODE_MS) return 'new';
  // The rate is the pattern's own over the span it could have been seen in. A sampled history covers
  // only the span back to its oldest row read; so does one whose first line is no observed beginning
  // (the service's records start with it, a TracePulse installed an hour ago) and that was seen often
  // enough there to have a rate: its absence before was never seen, so the nominal baseline would
  // make routine noise look like a spike. One or two sightings make no rate.
  const observedSince =
    h.sampled || (h.began === undefined && h.count >= RATE_MIN_COUNT) ? h.firstTs : windowStart - baselineMs;
  const spanMs = Math.max(windowMs, windowStart - observedSince);
  const expected = (h.count / spanMs) * windowMs;
  return countInWindow >= 3 && poissonTail(countInWindow, expected) < SPIKE_P ? 'spiking' : 'chronic';
}

/**
 * P(X >= n) for X ~ Poisson(mean): how surprising n occurrences in the window are at the
 * pattern's own baseline rate. Summed in log space so large counts do not overflow.
 */
export function poissonTail(n: number, mean: number): number {
  if (n <= 0) return 1;
  if (mean <= 0) return 0;
  let logTerm = -mean; // log P(X = 0)
  let below = Math.exp(logTerm);
  for (let k = 1; k < n; k++) {
    logTerm += Math.log(mean) - Math.log(k);
    below += Math.exp(logTerm);
  }
  return Math.max(0, 1 - below);
}

/**
 * The (map service, message pattern) pairs a baseline has seen, keyed as `baselineKey` spells them:
 * a warning whose key is not among them is one its service never logged before.
 */
export function seenInBaseline(history: readonly PatternHistory[], graph: SystemGraph): Set<string> {
  return new Set(
    history
      .filter((h) => h.count > 0)
      .map((h) => baselineKey(graph.resolve(h.service) ?? h.service, h.pattern)),
  );
}

export const baselineKey = (service: string, pattern: string): string => `${service}\u0000${pattern}`;
