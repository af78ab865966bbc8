import { TracePulseError } from '../core/errors.ts';
import { DeliveryError, networkFailure } from './sink.ts';

/** How the outbox waits after a failure, and what a failure is. */

export interface BackoffOptions {
  /** First delay after a failure. */
  initialMs: number;
  /** Ceiling of the exponential delay. */
  maxMs: number;
  /** Share of the delay that is randomised (0..1); 0.5 = "equal jitter". */
  jitter: number;
}

/** Delay before the n-th retry (n >= 1): exponential, capped, with jitter. */
export function backoffDelay(n: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(Math.max(n - 1, 0), 30));
  return Math.round(base * (1 - o.jitter) + base * o.jitter * random());
}

/** Any error out of a sink, as a DeliveryError: typed ones as they are, network ones by code, the rest permanent. */
export function classify(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const net = networkFailure(err, 'network');
  if (net) return net;
  if (err instanceof TracePulseError)
    return new DeliveryError(err.transient ? 'transient' : 'permanent', err.message, { cause: err });
  // An unexpected error is most likely a bug in rendering this message: retrying will not help.
  return new DeliveryError('permanent', err instanceof Error ? `${err.name}: ${err.message}` : String(err), {
    cause: err,
  });
}
