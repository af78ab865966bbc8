import { format } from 'node:util';
import { currentCorrelationId } from './correlation.js';
import type { DebugQueue } from './debug-queue.js';
import type { LogLevel } from './types.js';

export interface WrapConsoleOptions {
  /** Service name the forwarded lines are tagged with (e.g. the EVerest module id). */
  service: string;
  /** Queue to forward to; the default is the environment-configured `debugQueue`. */
  queue?: Pick<DebugQueue, 'logLine'>;
  /** Methods to forward; default log, info, warn and error (console.log and info as info lines). */
  methods?: ReadonlyArray<'warn' | 'error' | 'info' | 'log' | 'debug'>;
  /** Where the correlation id comes from; default the `withCorrelationId()` storage. */
  getCorrelationId?: () => string | undefined;
}

type ConsoleLike = Pick<Console, 'warn' | 'error' | 'info' | 'log' | 'debug'>;
type Method = 'warn' | 'error' | 'info' | 'log' | 'debug';
const levelOf: Record<Method, LogLevel> = {
  warn: 'warn',
  error: 'error',
  info: 'info',
  log: 'info',
  debug: 'debug',
};

/**
 * Makes console.log/info/warn/error also forward their line to the queue. The original method is
 * called first with the same `this` and arguments, so what the console prints does not change.
 * Returns a function that puts the original methods back.
 */
export function wrapConsole(
  target: ConsoleLike,
  {
    service,
    queue,
    methods = ['log', 'info', 'warn', 'error'],
    getCorrelationId = currentCorrelationId,
  }: WrapConsoleOptions,
  defaultQueue?: Pick<DebugQueue, 'logLine'>,
): () => void {
  const sink = queue ?? defaultQueue;
  const originals = new Map<Method, (...args: unknown[]) => void>();
  let forwarding = false;
  for (const method of methods) {
    const original = target[method];
    originals.set(method, original);
    target[method] = function (this: unknown, ...args: unknown[]) {
      original.apply(this ?? target, args);
      if (forwarding || !sink) return; // a queue notice printed through console must not loop back
      forwarding = true;
      try {
        sink.logLine(levelOf[method], format(...args), { service, correlationId: getCorrelationId() });
      } catch {
        // forwarding is best effort; the console line was already printed
      } finally {
        forwarding = false;
      }
    };
  }
  return () => {
    for (const [method, original] of originals) target[method] = original;
  };
}
