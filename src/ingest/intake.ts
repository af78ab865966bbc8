import type { Clock } from '../core/clock.ts';
import type { DebugEvent, IngestSource } from '../core/event.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Metrics } from '../core/metrics.ts';
import type {
  DeadLetter,
  EventWriteResult,
  IngestWriter,
  LogBatch,
  LogBatchResult,
} from '../store/ingest-writer.ts';
import type { NormalizeContext } from './normalize.ts';

/** What every receiver hands validated input to. Promises resolve once the input is durable. */
export interface IngestIntake {
  event(event: DebugEvent): Promise<EventWriteResult>;
  /** With `batch`, a key already committed stores nothing and reports the first batch's count. */
  logs(lines: LogLine[], batch?: LogBatch): Promise<LogBatchResult>;
  deadLetter(letter: DeadLetter): Promise<void>;
  countRejected(source: IngestSource, reason: string, n?: number): void;
  /** Defaults for normalisation at this moment (clock, current map triggers, id generator). */
  context(source: IngestSource): NormalizeContext;
}

/** The ingest intake over the durable writer: counts what is stored, duplicated and rejected, by source. */
export function createIngestIntake(deps: {
  writer: IngestWriter;
  metrics: Metrics;
  clock: Clock;
  /** The map's trigger event types in force now. */
  triggers: () => ReadonlySet<string>;
}): IngestIntake {
  const { writer, metrics, clock } = deps;
  metrics.describe('tracepulse_events_total', 'DebugQueue events stored, by source and priority');
  metrics.describe('tracepulse_events_duplicate_total', 'Events redelivered with an id already stored');
  metrics.describe('tracepulse_logs_total', 'Log lines stored, by source');
  metrics.describe(
    'tracepulse_logs_duplicate_batches_total',
    'Log batches repeated with an Idempotency-Key already stored (not stored again)',
  );
  metrics.describe('tracepulse_rejected_total', 'Inputs rejected, by source and reason');

  // Per-event counters on the ingest hot path, their labels formatted once per combination.
  const eventCounters = new Map<string, (by?: number) => void>();
  const countEvent = (name: string, labels: Record<string, string>) => {
    const key = `${name}|${labels.source}|${labels.priority}`;
    let inc = eventCounters.get(key);
    if (!inc) {
      inc = metrics.counter(name, labels);
      eventCounters.set(key, inc);
    }
    inc();
  };

  return {
    event: async (event) => {
      const r = await writer.writeEvent(event);
      if (r.inserted)
        countEvent('tracepulse_events_total', { source: event.source, priority: event.priority });
      else countEvent('tracepulse_events_duplicate_total', { source: event.source });
      return r;
    },
    logs: async (lines, batch) => {
      const r = batch
        ? await writer.writeLogs(lines, batch)
        : { accepted: await writer.writeLogs(lines), duplicate: false };
      const source = lines[0]?.source;
      if (source && r.duplicate) metrics.inc('tracepulse_logs_duplicate_batches_total', { source });
      else if (source) metrics.inc('tracepulse_logs_total', { source }, r.accepted);
      return r;
    },
    deadLetter: (letter) => writer.writeDeadLetter(letter),
    countRejected: (source, reason, n = 1) => metrics.inc('tracepulse_rejected_total', { source, reason }, n),
    context: (source) => ({
      now: clock.now(),
      source,
      triggers: deps.triggers(),
      newId: () => Bun.randomUUIDv7(),
    }),
  };
}
