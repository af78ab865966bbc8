import type { ReportNotice } from '../core/ports.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import { type Redactor, sensitiveKeyTest } from './redact.ts';
import type { NoticeEnvelope, OutboxChannel } from './sink.ts';

/** The idempotency key of a notice's message on a channel: the same notice always gives the same key. */
export function messageKey(channel: OutboxChannel, n: ReportNotice): string {
  if (n.kind === 'created') return `${channel}:${n.report.id}:created`;
  if (n.kind === 'revised') return `${channel}:${n.report.id}:revised:${n.report.revision}`;
  return `${channel}:incident:${n.incidentId}:${n.count}`;
}

/**
 * Values of redacted fields in the details of the report's own event and of its session's
 * events: a revision or an incident notice carries no event, yet its evidence may quote them.
 */
export function sensitiveValues(
  n: ReportNotice,
  fields: readonly string[],
  events: Pick<IngestQueries, 'event' | 'events'> | null | undefined,
): string[] {
  const isSensitive = sensitiveKeyTest(fields);
  const all = [n.kind === 'created' ? n.event : null];
  if (events) {
    all.push(events.event(n.report.eventId));
    if (n.report.correlationId)
      all.push(...events.events({ correlationId: n.report.correlationId, limit: 200 }));
  }
  const out = new Set<string>();
  for (const e of all)
    for (const [k, v] of Object.entries(e?.details ?? {})) if (isSensitive(k) && v) out.add(String(v));
  return [...out];
}

/** The redacted snapshot stored in the outbox (nothing leaves the device unredacted). */
export function envelopeOf(n: ReportNotice, redact: Redactor, knownValues: string[] = []): NoticeEnvelope {
  const env: NoticeEnvelope = { kind: n.kind, report: n.report };
  if (n.kind === 'created') {
    const e = n.event;
    env.event = {
      id: e.id,
      eventType: e.eventType,
      service: e.service,
      errorCode: e.errorCode,
      details: e.details,
      timestamp: e.timestamp,
      message: e.message,
    };
  }
  if (n.kind === 'incident') env.incident = { id: n.incidentId, count: n.count };
  return redact(env, knownValues);
}
