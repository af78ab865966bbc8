import type { DebugEvent, IngestSource } from '../core/event.ts';
import type { LogLine } from '../core/log-line.ts';
import type { DeadLetter, EventWriteResult, LogBatch, LogBatchResult } from '../store/ingest-writer.ts';
import type { NormalizeContext } from './normalize.ts';

/** What every receiver hands validated input to. Promises resolve once the input is durable. */
export interface IngestSink {
  event(event: DebugEvent): Promise<EventWriteResult>;
  /** With `batch`, a key already committed stores nothing and reports the first batch's count. */
  logs(lines: LogLine[], batch?: LogBatch): Promise<LogBatchResult>;
  deadLetter(letter: DeadLetter): Promise<void>;
  countRejected(source: IngestSource, reason: string, n?: number): void;
  /** Defaults for normalisation at this moment (clock, current map triggers, id generator). */
  context(source: IngestSource): NormalizeContext;
}
