import { configFromEnv } from './config.js';
import { createDebugQueue, type DebugQueue } from './debug-queue.js';
import { writeNotice } from './notice.js';
import { type WrapConsoleOptions, wrapConsole as wrap } from './wrap-console.js';

export type { DebugQueueConfig } from './config.js';
export { configFromEnv } from './config.js';
export { correlationStorage, currentCorrelationId, withCorrelationId } from './correlation.js';
export { createDebugQueue, type DebugQueue } from './debug-queue.js';
export { topicSegment } from './mqtt-transport.js';
export {
  type DebugEvent,
  DebugQueueError,
  type DebugQueueErrorCode,
  type DebugQueueStats,
  type DetailValue,
  type DropInfo,
  type EventFields,
  type LogLevel,
  type LogLineFields,
  type LogOptions,
  type LogRecord,
  type Priority,
  type SinkStats,
} from './types.js';
export type { WrapConsoleOptions } from './wrap-console.js';

let shared: DebugQueue | undefined;

/** The process-wide queue, built from DEBUG_QUEUE_* on first use (importing costs nothing). */
function defaultQueue(): DebugQueue {
  if (!shared) {
    try {
      shared = createDebugQueue(configFromEnv());
    } catch (e) {
      // A bad DEBUG_QUEUE_URL must not break the service: say so once and discard.
      writeNotice(`${e instanceof Error ? e.message : String(e)}; log() calls are discarded`);
      shared = createDebugQueue({ silent: true });
    }
  }
  return shared;
}

/** The default queue, configured by DEBUG_QUEUE_URL, DEBUG_QUEUE_API_KEY, DEBUG_QUEUE_TOPIC_PREFIX, DEBUG_QUEUE_LOKI_URL. */
export const debugQueue: DebugQueue = {
  log: (eventType, fields, options) => defaultQueue().log(eventType, fields, options),
  logLine: (level, message, fields) => defaultQueue().logLine(level, message, fields),
  flush: (timeoutMs) => defaultQueue().flush(timeoutMs),
  close: (timeoutMs) => defaultQueue().close(timeoutMs),
  stats: () => defaultQueue().stats(),
};

/**
 * Forwards console.log/info/warn/error lines (with the current correlation id) as log lines while the
 * console prints exactly what it printed before. Returns a function that unwraps.
 */
export function wrapConsole(target: Parameters<typeof wrap>[0], options: WrapConsoleOptions): () => void {
  return wrap(target, options, debugQueue);
}
